CREATE (heat:Movie {title: 'Heat', runtime: 170}), (ronin:Movie {title: 'Ronin', runtime: 120}), (lost:Series {title: 'Lost', episodes: 121}), (dark:Series {title: 'Dark', episodes: 26}),
  (al:Actor {name: 'Al'}), (bo:Actor {name: 'Bo'}), (cy:Actor {name: 'Cy'}),
  (al)-[:ACTED_IN {role: 'Vincent'}]->(heat), (bo)-[:ACTED_IN {role: 'Neil'}]->(heat), (bo)-[:ACTED_IN {role: 'Sam'}]->(ronin),
  (al)-[:STARRED_IN {role: 'Jack'}]->(lost), (cy)-[:STARRED_IN {role: 'Jonas'}]->(dark), (cy)-[:ACTED_IN {role: 'Gregor'}]->(ronin);
