select json_build_object('node', (select json_build_object('__typename', 'Appointment', 'id', gql_global_id('Appointment', t1.id), 'durationMinutes', (floor(extract(epoch from t1.ends_at - t1.starts_at) / 60)::int), 'price', t1.price::text, 'type', upper(t1.type), 'endsAt', gql_datetime(t1.ends_at), 'cancelReason', t1.cancel_reason, 'patient', coalesce((select json_build_object('name', t2.name)
    from patients t2
    where t2.id = t1.patient_id), to_json('__fisioflow_missing__'::text)), 'charges', coalesce((select json_agg(json_build_object('overdue', ((t3.status = 'pending' and t3.due_date is not null and t3.due_date < (now() at time zone 'America/Sao_Paulo')::date)), 'dueDate', t3.due_date) order by t3.created_at, t3.id)
    from payments t3
    where t3.appointment_id = t1.id), '[]'::json))
  from appointments t1
  where t1.id = ($1::text[])[1]::uuid))::text
