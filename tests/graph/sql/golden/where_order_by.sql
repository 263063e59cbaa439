select json_build_object('appointments', (select json_build_object('totalCount', (select count(*)
    from appointments x
    where ((x.status = any(($1::text[])[1]::text[])) and (x.physiotherapist_id is not null and x.physiotherapist_id = ($1::text[])[2]::uuid) and (exists(select 1
      from patients t3
      where t3.id = x.patient_id and (t3.name ilike ($1::text[])[3]::text)) or (x.price is null)) and not (x.notes like ($1::text[])[4]::text escape '/'))), 'pageInfo', json_build_object('hasNextPage', (count(*) > 10), 'endCursor', gql_cursor((array_agg(json_build_array('appointments/price desc,starts_at,id', t2.price::text, gql_cursor_value(t2.starts_at), t2.id)::text order by t2.price, t2.starts_at desc, t2.id desc) filter (where t2._n <= 10))[1], (select decode(($1::text[])[8]::text, 'hex')))), 'edges', coalesce(json_agg(json_build_object('cursor', gql_cursor(json_build_array('appointments/price desc,starts_at,id', t2.price::text, gql_cursor_value(t2.starts_at), t2.id)::text, (select decode(($1::text[])[8]::text, 'hex'))), 'node', t2._node3) order by t2.price desc, t2.starts_at, t2.id) filter (where t2._n <= 10), '[]'::json))
  from (select t1.price, t1.starts_at, t1.id, json_build_object('id', gql_global_id('Appointment', t1.id), 'startsAt', gql_datetime(t1.starts_at), 'price', t1.price::text, 'patient', coalesce((select json_build_object('name', t4.name, 'payments', (select json_build_object('edges', coalesce(json_agg(json_build_object('node', t6._node2) order by t6.due_date, t6.id) , '[]'::json))
        from (select t5.due_date, t5.id, json_build_object('amount', t5.amount::text, 'dueDate', t5.due_date) as _node2
          from payments t5
          where t5.patient_id = t4.id and (t5.status = ($1::text[])[9]::text)
          order by t5.due_date asc, t5.id asc
          limit 3) t6))
      from patients t4
      where t4.id = t1.patient_id), to_json('__fisioflow_missing__'::text))) as _node3, row_number() over (order by t1.price desc, t1.starts_at asc, t1.id asc) as _n
    from appointments t1
    where ((t1.status = any(($1::text[])[1]::text[])) and (t1.physiotherapist_id is not null and t1.physiotherapist_id = ($1::text[])[2]::uuid) and (exists(select 1
      from patients t3
      where t3.id = t1.patient_id and (t3.name ilike ($1::text[])[3]::text)) or (t1.price is null)) and not (t1.notes like ($1::text[])[4]::text escape '/')) and ((((($1::text[])[5]::numeric is null and t1.price is not null) or t1.price < ($1::text[])[5]::numeric)) or (t1.price is not distinct from ($1::text[])[5]::numeric and t1.starts_at > ($1::text[])[6]::timestamptz) or (t1.price is not distinct from ($1::text[])[5]::numeric and t1.starts_at = ($1::text[])[6]::timestamptz and t1.id > ($1::text[])[7]::uuid))
    order by t1.price desc, t1.starts_at asc, t1.id asc
    limit 10 + 1) t2))::text
