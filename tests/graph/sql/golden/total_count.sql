select json_build_object('patients', (select json_build_object('totalCount', (select count(*)
    from patients x))
  from (select t1.name, t1.id
    from patients t1
    order by t1.name asc, t1.id asc
    limit 20) t2
  group by ()))::text
