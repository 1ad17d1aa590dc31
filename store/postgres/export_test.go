package postgres

// Migrations is the number of migrations this release applies.
var Migrations = len(migrations)

// SetSweepEvery makes l sweep idle rows once every n reservations.
func SetSweepEvery(l *Limiter, n uint64) { l.sweepEvery = n }
