CREATE (:Ticket {key: 't1', status: 'open', priority: 'HIGH', points: 3, flagged: true, tags: ['a']});
CREATE (:Ticket {key: 't2', status: 'closed', priority: 'LOW'});
CREATE (:Ticket {key: 't3', status: 'open', priority: 'NORMAL', points: 0, weight: 2.0});
CREATE (:Person {name: 'ann'});
CREATE (:Person {name: 'bob'});
MATCH (t:Ticket {key: 't1'}), (p:Person {name: 'ann'}) CREATE (t)-[:ASSIGNED {role: 'owner', hours: 5}]->(p);
MATCH (t:Ticket {key: 't2'}), (p:Person {name: 'ann'}) CREATE (t)-[:ASSIGNED {role: 'reviewer'}]->(p);
MATCH (t:Ticket {key: 't2'}), (p:Person {name: 'bob'}) CREATE (t)-[:ASSIGNED {role: 'owner'}]->(p);
