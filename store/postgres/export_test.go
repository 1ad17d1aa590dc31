package postgres

// SetSweepEvery makes l sweep idle rows once every n reservations.
func SetSweepEvery(l *Limiter, n uint64) { l.sweepEvery = n }
