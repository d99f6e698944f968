CREATE (b:Box {name: 'a'}) WITH b UNWIND range(1, 8) AS i CREATE (:Item {rank: i})-[:IN]->(b);
CREATE (:Log {message: 'one'});
CREATE (:Secret {code: 'x'});
