"""Business rules. Services take `now=` where time matters and raise DomainError subclasses."""
