CREATE (:Profile {handle: 'ann', secret: 's-ann', createdBy: 'seed', notes: 'first'});
CREATE (:Profile {handle: 'bob', secret: 's-bob', createdBy: 'seed'});
