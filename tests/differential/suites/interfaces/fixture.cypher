CREATE (:Movie {title: 'Heat', year: 1995, runtime: 170}), (:Series {title: 'Lost', year: 2004, episodes: 121}),
  (:Movie {title: 'Ronin', year: 1998, runtime: 120}), (:Documentary:Film {title: 'Earth', year: 2007, subject: 'nature'}),
  (:Series {title: 'Dark', year: 2017, episodes: 26}), (:Movie {title: 'Alien', year: 1979, runtime: 117}),
  (:Documentary {title: 'NotAFilm', year: 2000, subject: 'label check'});
