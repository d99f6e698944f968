CREATE (:Place {name: 'london', location: point({longitude: -0.1276, latitude: 51.5072}), position: point({x: 1.5, y: 2.5}), stops: [point({longitude: 1.0, latitude: 2.0})]});
CREATE (:Place {name: 'paris', location: point({longitude: 2.3522, latitude: 48.8566, height: 35.0}), position: point({x: 10.0, y: 0.0, z: 3.0})});
CREATE (:Place {name: 'berlin', location: point({longitude: 13.405, latitude: 52.52})});
CREATE (:Place {name: 'nowhere'});
