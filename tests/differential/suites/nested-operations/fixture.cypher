CREATE (m:Movie {title: 'Heat'}), (a:Actor {name: 'Al'}), (:Actor {name: 'Bob'}), (c:Crew {name: 'Dee'}), (a)-[:ACTED_IN]->(m), (c)-[:WORKED_ON]->(m);
