CREATE (:Post {id: 'p1', title: 'first', createdAt: datetime('2024-01-01T00:00:00Z')});
CREATE (:Post {id: 'p2', title: 'second', createdAt: datetime('2024-02-01T00:00:00Z'), updatedAt: datetime('2024-03-01T00:00:00Z')});
CREATE (:Tag {name: 'rust'});
CREATE (:Tag {name: 'neo4j'});
