package postgres

// Migrations is the number of migrations this release applies.
var Migrations = len(migrations)
