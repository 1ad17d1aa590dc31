package auth

// The tests of package auth build their Authenticators on the in-memory
// store, store/memory's Store, which they cannot import: store/memory
// imports auth. memstore_test.go, in package auth_test, which can, hands
// them its constructor with SetMemoryStore when the test binary starts,
// before any test runs.

// memoryStore is what a store/memory.Store is: a Store with every optional
// capability, and its count of sessions.
type memoryStore interface {
	Store
	UserDeleter
	Pinger
	SessionCount() int
}

// newMemoryStore returns an empty store/memory.Store.
var newMemoryStore func() memoryStore

// SetMemoryStore makes newMemoryStore call newStore (memory.New).
func SetMemoryStore[S memoryStore](newStore func() S) {
	newMemoryStore = func() memoryStore { return newStore() }
}
