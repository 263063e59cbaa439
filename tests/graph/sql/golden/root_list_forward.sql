select json_build_object('patients', (select json_build_object('totalCount', (select count(*)
    from patients x), 'pageInfo', json_build_object('hasNextPage', (count(*) > ($1::text[])[1]::int), 'hasPreviousPage', true, 'startCursor', gql_cursor((array_agg(json_build_array('patients', t2.name, t2.id)::text order by t2.name, t2.id) filter (where t2._n <= ($1::text[])[1]::int))[1], (select decode(($1::text[])[4]::text, 'hex'))), 'endCursor', gql_cursor((array_agg(json_build_array('patients', t2.name, t2.id)::text order by t2.name desc, t2.id desc) filter (where t2._n <= ($1::text[])[1]::int))[1], (select decode(($1::text[])[4]::text, 'hex')))), 'edges', coalesce(json_agg(json_build_object('cursor', gql_cursor(json_build_array('patients', t2.name, t2.id)::text, (select decode(($1::text[])[4]::text, 'hex'))), 'node', t2._node2) order by t2.name, t2.id) filter (where t2._n <= ($1::text[])[1]::int), '[]'::json))
  from (select t1.name, t1.id, json_build_object('id', gql_global_id('Patient', t1.id), 'name', t1.name, 'status', upper(t1.status)) as _node2, row_number() over (order by t1.name asc, t1.id asc) as _n
    from patients t1
    where (t1.name, t1.id) > (($1::text[])[2]::text, ($1::text[])[3]::uuid)
    order by t1.name asc, t1.id asc
    limit ($1::text[])[1]::int + 1) t2))::text
