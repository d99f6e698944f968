CREATE (ada:Person {handle: 'ada', name: 'Ada'}), (bob:Person {handle: 'bob', name: 'Bob'}), (cy:Person {handle: 'cy', name: 'Cy'}),
  (ada)-[:EARNS]->(:Salary {amount: 100, year: 2024}), (ada)-[:EARNS]->(:Salary {amount: 120, year: 2025}),
  (bob)-[:EARNS]->(:Salary {amount: 90, year: 2025}),
  (:Note {text: 'promote'})-[:ABOUT]->(ada), (:Note {text: 'review'})-[:ABOUT]->(bob);
CREATE (:Memo {text: 'q3 plan'}), (:Memo {text: 'budget'}), (:Notice {text: 'open day'});
