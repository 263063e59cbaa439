select json_build_object('paymentsAggregate', (with t2 as (select grouping(date_trunc('month', timezone('America/Sao_Paulo', t1.paid_at))::date) as _total, date_trunc('month', timezone('America/Sao_Paulo', t1.paid_at))::date as _k0, t1.method as _k1, t1.patient_id as _k2, count(*) as _count, sum(t1.amount) as _f0, max(t1.paid_at) as _f1, row_number() over (partition by grouping(date_trunc('month', timezone('America/Sao_Paulo', t1.paid_at))::date) order by date_trunc('month', timezone('America/Sao_Paulo', t1.paid_at))::date asc nulls last, t1.method asc nulls last, t1.patient_id asc nulls last) as _n
    from payments t1
    group by grouping sets ((), (date_trunc('month', timezone('America/Sao_Paulo', t1.paid_at))::date, t1.method, t1.patient_id)))
  select json_build_object('count', t3._count, 'sum', json_build_object('amount', t3._f0::text), 'max', json_build_object('paidAt', gql_datetime(t3._f1)), 'groups', (select coalesce(json_agg(json_build_object('key', json_build_object('paidAtMonth', t4._k0, 'method', upper(t4._k1), 'patient', (select json_build_object('name', t5.name)
      from patients t5
      where t5.id = t4._k2)), 'count', t4._count, 'sum', json_build_object('amount', t4._f0::text)) order by t4._n), '[]'::json)
    from t2 t4
    where t4._total = 0 and t4._n <= 500))
  from t2 t3
  where t3._total = 1))::text
