-- The audit log is append-only: the database itself refuses to change or remove an entry.
create trigger audit_entry_no_update before update on audit_entry
begin
    select raise(abort, 'the audit log is append-only');
end;

create trigger audit_entry_no_delete before delete on audit_entry
begin
    select raise(abort, 'the audit log is append-only');
end;
