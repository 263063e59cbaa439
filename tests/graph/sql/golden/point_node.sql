select json_build_object('node', (select json_build_object('__typename', 'Patient', 'id', gql_global_id('Patient', t1.id), 'name', t1.name, 'cpf', t1.cpf, 'birthDate', t1.birth_date, 'status', upper(t1.status))
  from patients t1
  where t1.id = ($1::text[])[1]::uuid))::text
