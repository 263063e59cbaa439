with t1 as (insert into appointments (clinic_id, patient_id, physiotherapist_id, starts_at, ends_at, type, notes, price, outside_working_hours) values (($1::text[])[1]::uuid, ($1::text[])[2]::uuid, ($1::text[])[3]::uuid, ($1::text[])[4]::timestamptz, ($1::text[])[5]::timestamptz, ($1::text[])[6]::text, ($1::text[])[7]::text, ($1::text[])[8]::numeric, ($1::text[])[9]::boolean) returning *)
select json_build_object('scheduleAppointment', (select json_build_object('id', gql_global_id('Appointment', t2.id), 'startsAt', gql_datetime(t2.starts_at), 'status', upper(t2.status), 'durationMinutes', (floor(extract(epoch from t2.ends_at - t2.starts_at) / 60)::int), 'price', t2.price::text, 'patient', coalesce((select json_build_object('name', t3.name)
    from patients t3
    where t3.id = t2.patient_id), to_json('__fisioflow_missing__'::text)), 'physiotherapist', coalesce((select json_build_object('crefito', t4.crefito)
    from physiotherapists t4
    where t4.id = t2.physiotherapist_id), to_json('__fisioflow_missing__'::text)))
  from t1 t2))::text
