select json_build_object('patients', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t2._node2) order by t2.name, t2.id) , '[]'::json))
  from (select t1.name, t1.id, json_build_object('id', gql_global_id('Patient', t1.id), 'name', t1.name, 'appointments', (select json_build_object('totalCount', (select count(*)
        from appointments x
        where x.patient_id = t1.id and x.starts_at >= ($1::text[])[2]::timestamptz and x.status = any(($1::text[])[3]::text[])), 'edges', coalesce(json_agg(json_build_object('node', t4._node2) order by t4.starts_at, t4.id) , '[]'::json))
      from (select t3.starts_at, t3.id, json_build_object('id', gql_global_id('Appointment', t3.id), 'startsAt', gql_datetime(t3.starts_at), 'status', upper(t3.status)) as _node2
        from appointments t3
        where t3.patient_id = t1.id and t3.starts_at >= ($1::text[])[2]::timestamptz and t3.status = any(($1::text[])[3]::text[])
        order by t3.starts_at asc, t3.id asc
        limit 5) t4)) as _node2
    from patients t1
    where t1.status = ($1::text[])[1]::text
    order by t1.name asc, t1.id asc
    limit 20) t2))::text
