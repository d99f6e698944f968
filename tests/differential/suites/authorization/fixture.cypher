CREATE (ada:Person {handle: 'ada', name: 'Ada'}), (bob:Person {handle: 'bob', name: 'Bob'}), (cy:Person {handle: 'cy', name: 'Cy'}),
  (ada)-[:EARNS]->(:Salary {amount: 100, year: 2024}), (ada)-[:EARNS]->(:Salary {amount: 120, year: 2025}),
  (bob)-[:EARNS]->(:Salary {amount: 90, year: 2025}),
  (:Note {text: 'promote'})-[:ABOUT]->(ada), (:Note {text: 'review'})-[:ABOUT]->(bob);
CREATE (:Memo {text: 'q3 plan'}), (:Memo {text: 'budget'}), (:Notice {text: 'open day'});
MATCH (ada:Person {handle: 'ada'}), (bob:Person {handle: 'bob'})
CREATE (ada)-[:WROTE]->(:Doc {title: 'ada notes', ownerSub: 'ada'}), (bob)-[:WROTE]->(:Doc {title: 'bob plan', ownerSub: 'bob'}),
  (ada)-[:DRAFTED]->(:Draft {title: 'ada draft'}), (bob)-[:DRAFTED]->(:Draft {title: 'bob draft'});
