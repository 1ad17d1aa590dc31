// Package routers has no code: its tests mount the library's endpoints
// (authhttp's, recoveryhttp's, adminhttp's) on chi, gin and echo, as the
// documentation of package authhttp shows, and check that the routes
// whose paths hold an {id} read it there. The routers are dependencies of
// these tests only.
package routers
