CREATE (a:Person {name: 'Ann'}), (b:Person {name: 'Ben'}), (c:Person {name: 'Cat'}), (d:Person {name: 'Dan'}),
  (a)-[:FRIENDS_WITH {year: 2001}]->(b), (c)-[:FRIENDS_WITH {year: 2010}]->(a), (b)-[:FRIENDS_WITH {year: 2015}]->(c),
  (a)-[:FOLLOWS]->(d), (d)-[:FOLLOWS]->(b);
