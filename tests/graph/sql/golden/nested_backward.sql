select json_build_object('patients', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t2._node2) order by t2.name, t2.id) , '[]'::json))
  from (select t1.name, t1.id, json_build_object('id', gql_global_id('Patient', t1.id), 'name', t1.name, 'physiotherapist', (select json_build_object('id', gql_global_id('Physiotherapist', t3.id), 'name', t3.name)
      from physiotherapists t3
      where t3.id = t1.physiotherapist_id), 'appointments', (select json_build_object('pageInfo', json_build_object('hasPreviousPage', (count(*) > 10)), 'edges', coalesce(json_agg(json_build_object('cursor', gql_cursor(json_build_array('appointments', gql_cursor_value(t5.starts_at), t5.id)::text, (select decode(($1::text[])[3]::text, 'hex'))), 'node', t5._node2) order by t5.starts_at, t5.id) filter (where t5._n <= 10), '[]'::json))
      from (select t4.starts_at, t4.id, json_build_object('id', gql_global_id('Appointment', t4.id), 'startsAt', gql_datetime(t4.starts_at), 'payments', coalesce((select json_agg(json_build_object('id', gql_global_id('Payment', t6.id), 'amount', t6.amount::text, 'status', upper(t6.status)) order by t6.created_at, t6.id)
          from payments t6
          where t6.appointment_id = t4.id), '[]'::json)) as _node2, row_number() over (order by t4.starts_at desc, t4.id desc) as _n
        from appointments t4
        where t4.patient_id = t1.id and (t4.starts_at, t4.id) < (($1::text[])[1]::timestamptz, ($1::text[])[2]::uuid)
        order by t4.starts_at desc, t4.id desc
        limit 10 + 1) t5)) as _node2
    from patients t1
    order by t1.name asc, t1.id asc
    limit 50) t2))::text
