"""Follow-up plans: the plans page (plans with their steps, create, rename and delete plans, add,
remove and choose the template of steps, assign plans to customers by account list or to all
customers matching a filter), the plan selector of an account, and the per-entry "Follow-up plan
enabled" switch."""
