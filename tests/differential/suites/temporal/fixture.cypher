CREATE (:Event {name: 'a', on: date('2024-05-01'), at: datetime('2024-05-01T08:20:30.123456789+02:00'), startsAt: time('08:20:30Z'), localStart: localtime('08:20:30'), localAt: localdatetime('2024-05-01T08:20:30'), lasts: duration('P1Y2M3DT4H5M6S'), days: [date('2024-05-01'), date('2024-05-02')], breaks: [duration('PT15M'), duration('PT1H30M')]});
CREATE (:Event {name: 'b', on: date('2023-12-31'), at: datetime('2023-12-31T23:59:59Z'), startsAt: time('23:59:59.5+05:30'), localStart: localtime('23:59:59.123'), localAt: localdatetime('2023-12-31T23:59:59.123456789'), lasts: duration('PT36H'), days: [], breaks: [duration('P2D')]});
CREATE (:Event {name: 'c', on: date('2025-01-15'), lasts: duration('-PT1.5S')});
CREATE (:Event {name: 'd', lasts: duration('PT0S')});
CREATE (:Event {name: 'e', lasts: duration('P14DT0.000000001S')});
CREATE (:Event {name: 'f', lasts: duration('P1M')});
CREATE (:Event {name: 'g'});
