"""Staff: physiotherapists (`physiotherapists`, `createPhysiotherapist`) and the logins of the
front desk (`createStaffUser`)."""
