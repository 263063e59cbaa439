select json_build_object('payments', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t2._node2) order by t2.created_at, t2.id) , '[]'::json))
  from (select t1.created_at, t1.id, json_build_object('id', gql_global_id('Payment', t1.id), 'appointment', (select json_build_object('startsAt', gql_datetime(t3.starts_at), 'durationMinutes', (floor(extract(epoch from t3.ends_at - t3.starts_at) / 60)::int), 'patient', coalesce((select json_build_object('name', t4.name, 'physiotherapist', (select json_build_object('name', t5.name, 'crefito', t5.crefito, 'active', t5.active)
          from physiotherapists t5
          where t5.id = t4.physiotherapist_id))
        from patients t4
        where t4.id = t3.patient_id), to_json('__fisioflow_missing__'::text)))
      from appointments t3
      where t3.id = t1.appointment_id)) as _node2
    from payments t1
    order by t1.created_at asc, t1.id asc
    limit 5) t2))::text
