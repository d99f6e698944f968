CREATE (:Movie {title: 'Heat', year: 1995, runtime: 170}), (:Series {title: 'Lost', year: 2004, episodes: 121}),
  (:Movie {title: 'Ronin', year: 1998, runtime: 120}), (:Documentary:Film {title: 'Earth', year: 2007, subject: 'nature'}),
  (:Series {title: 'Dark', year: 2017, episodes: 26}), (:Movie {title: 'Alien', year: 1979, runtime: 117}),
  (:Documentary {title: 'NotAFilm', year: 2000, subject: 'label check'});
MATCH (heat:Movie {title: 'Heat'}), (lost:Series {title: 'Lost'}), (ronin:Movie {title: 'Ronin'}), (earth:Documentary {title: 'Earth'}), (dark:Series {title: 'Dark'}), (alien:Movie {title: 'Alien'})
CREATE (al:Actor {name: 'Al'}), (bo:Actor {name: 'Bo'}), (cy:Actor {name: 'Cy'}),
  (al)-[:ACTED_IN {as: 'V'}]->(lost), (al)-[:ACTED_IN {as: 'X'}]->(heat), (al)-[:ACTED_IN {as: 'Y'}]->(ronin), (al)-[:ACTED_IN {as: 'N'}]->(earth),
  (bo)-[:ACTED_IN {as: 'Z'}]->(dark), (bo)-[:ACTED_IN {as: 'W'}]->(ronin), (cy)-[:ACTED_IN {as: 'R'}]->(alien),
  (al)-[:LIKES]->(dark), (bo)-[:LIKES]->(alien);
