CREATE (heat:Movie {title: 'Heat', released: 1995, budget: 60000000}),
  (ronin:Movie {title: 'Ronin', released: 1998}),
  (casino:Movie {title: 'Casino', released: 1995, budget: 52000000}),
  (up:Movie {title: 'Up', released: 2009}),
  (al:Actor {name: 'Al', born: 1940}), (bob:Actor {name: 'Bob', born: 1943}), (cleo:Actor {name: 'Cleo', born: 1970}), (dan:Actor {name: 'Dan'}),
  (al)-[:ACTED_IN {billing: 1}]->(heat), (bob)-[:ACTED_IN {billing: 2}]->(heat), (cleo)-[:ACTED_IN {billing: 3}]->(heat),
  (bob)-[:ACTED_IN {billing: 1}]->(ronin), (dan)-[:ACTED_IN {billing: 2}]->(ronin),
  (bob)-[:ACTED_IN {billing: 1}]->(casino), (cleo)-[:ACTED_IN {billing: 2}]->(casino);
