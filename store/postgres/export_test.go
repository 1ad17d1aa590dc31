package postgres

// SetSweepEvery makes l sweep idle rows once every n reservations.
func SetSweepEvery(l *Limiter, n uint64) { l.sweepEvery = n }

// ListenerPID returns the backend of the store's cache listener, 0 while
// it has none (or the store has no cache).
func ListenerPID(s *Store) uint32 {
	if s.inst == nil {
		return 0
	}
	s.inst.mu.Lock()
	defer s.inst.mu.Unlock()
	return s.inst.pid
}
