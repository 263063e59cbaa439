select json_build_object('physiotherapists', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t2._node2) order by t2.name, t2.id) , '[]'::json))
  from (select t1.name, t1.id, json_build_object('id', gql_global_id('Physiotherapist', t1.id), 'name', t1.name, 'patients', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t4._node2) order by t4.name, t4.id) , '[]'::json))
      from (select t3.name, t3.id, json_build_object('id', gql_global_id('Patient', t3.id), 'name', t3.name, 'appointments', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t6._node2) order by t6.starts_at, t6.id) , '[]'::json))
          from (select t5.starts_at, t5.id, json_build_object('id', gql_global_id('Appointment', t5.id), 'startsAt', gql_datetime(t5.starts_at), 'status', upper(t5.status)) as _node2
            from appointments t5
            where t5.patient_id = t3.id
            order by t5.starts_at asc, t5.id asc
            limit 5) t6)) as _node2
        from patients t3
        where t3.physiotherapist_id = t1.id
        order by t3.name asc, t3.id asc
        limit 10) t4)) as _node2
    from physiotherapists t1
    order by t1.name asc, t1.id asc
    limit 10) t2))::text
