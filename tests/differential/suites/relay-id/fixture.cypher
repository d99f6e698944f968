CREATE (p1:Product {sku: 'p1', name: 'Lamp'}), (p2:Product {sku: 'p2', name: 'Desk'}), (a:Account {number: 42, holder: 'Ada'}), (:Account {number: 7, holder: 'Bo'}),
  (a)-[:OWNS]->(p1), (a)-[:OWNS]->(p2);
