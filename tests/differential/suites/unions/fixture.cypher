CREATE (a:Actor {name: 'Al'}), (b:Actor {name: 'Bo'}), (c:Actor {name: 'Cy'}),
  (m1:Movie {title: 'Heat', runtime: 170}), (m2:Movie {title: 'Ronin', runtime: 120}), (m3:Movie {title: 'Alien', runtime: 117}),
  (s1:Series {title: 'Lost', episodes: 121}), (s2:Series {title: 'Dark', episodes: 26}),
  (a)-[:ACTED_IN {as: 'V'}]->(s1), (a)-[:ACTED_IN {as: 'X'}]->(m1), (a)-[:ACTED_IN {as: 'Y'}]->(m2),
  (b)-[:ACTED_IN {as: 'Z'}]->(s2), (b)-[:ACTED_IN {as: 'W'}]->(m2), (c)-[:ACTED_IN {as: 'R'}]->(m3),
  (a)-[:LIKES]->(s2), (b)-[:LIKES]->(m3);
