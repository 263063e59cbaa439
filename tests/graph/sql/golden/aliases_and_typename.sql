select json_build_object('all', (select json_build_object('__typename', 'PatientConnection', 'total', (select count(*)
    from patients x), 'edges', coalesce(json_agg(json_build_object('__typename', 'PatientEdge', 'node', t2._node2) order by t2.name, t2.id) , '[]'::json))
  from (select t1.name, t1.id, json_build_object('__typename', 'Patient', 'patientId', gql_global_id('Patient', t1.id), 'fullName', t1.name, 'anonymizedAt', gql_datetime(t1.anonymized_at)) as _node2
    from patients t1
    order by t1.name asc, t1.id asc
    limit 20) t2))::text
