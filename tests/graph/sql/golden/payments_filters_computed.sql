select json_build_object('payments', (select json_build_object('totalCount', (select count(*)
    from payments x
    where x.status = any(($1::text[])[1]::text[]) and x.patient_id = ($1::text[])[2]::uuid and coalesce(x.due_date, date(x.created_at)) >= ($1::text[])[3]::date), 'edges', coalesce(json_agg(json_build_object('node', t2._node2) order by t2.created_at, t2.id) , '[]'::json))
  from (select t1.created_at, t1.id, json_build_object('id', gql_global_id('Payment', t1.id), 'amount', t1.amount::text, 'dueDate', t1.due_date, 'overdue', ((t1.status = 'pending' and t1.due_date is not null and t1.due_date < (now() at time zone 'America/Sao_Paulo')::date)), 'status', upper(t1.status)) as _node2
    from payments t1
    where t1.status = any(($1::text[])[1]::text[]) and t1.patient_id = ($1::text[])[2]::uuid and coalesce(t1.due_date, date(t1.created_at)) >= ($1::text[])[3]::date
    order by t1.created_at asc, t1.id asc
    limit 10) t2))::text
