CREATE (heat:Movie {title: 'Heat', year: 1995}), (ronin:Movie {title: 'Ronin', year: 1998}), (alien:Movie {title: 'Alien', year: 1979}),
  (al:Actor {name: 'Al'}), (bob:Actor {name: 'Bob'}), (cy:Actor {name: 'Cy'}), (dee:Actor {name: 'Dee'}),
  (oscar:Award {name: 'Oscar', year: 1990}), (globe:Award {name: 'Globe', year: 1996}), (bafta:Award {name: 'Bafta', year: 1980}),
  (wb:Studio {name: 'WB'}), (fox:Studio {name: 'Fox'}),
  (al)-[:ACTED_IN {role: 'Vincent', screenTime: 100}]->(heat), (bob)-[:ACTED_IN {role: 'Neil', screenTime: 90}]->(heat),
  (bob)-[:ACTED_IN {role: 'Sam', screenTime: 120}]->(ronin), (cy)-[:ACTED_IN {role: 'Ripley', screenTime: 110}]->(alien),
  (dee)-[:ACTED_IN {role: 'Dee', screenTime: 5}]->(ronin),
  (al)-[:WON]->(oscar), (bob)-[:WON]->(globe), (cy)-[:WON]->(bafta),
  (wb)-[:MADE]->(heat), (fox)-[:MADE]->(alien), (fox)-[:MADE]->(ronin);
