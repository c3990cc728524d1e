package devserver

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	postgresschema "go.temporal.io/server/schema/postgresql/v12"
	schematool "go.temporal.io/server/tools/common/schema"
	sqltool "go.temporal.io/server/tools/sql"
)

// Temporal keeps two databases in PostgreSQL: its state, in the database the
// URL names, and SQL advanced visibility (list filters over search
// attributes), in one beside it named with this suffix. They cannot share a
// database: both schemas keep their version in a table of the same name.
const visibilityDatabaseSuffix = "_visibility"

// postgresShards is the number of history shards on PostgreSQL. A cluster
// records it at its first start and refuses to start with another, so it
// never changes. Four let history work proceed in parallel, as on a
// production cluster (which has far more), where SQLite's single writer has one.
const postgresShards = 4

// postgresConns bounds each connection pool. Every service of the server
// (frontend, history, matching, worker) opens one pool per store, so the
// server holds at most 4 × 2 × postgresConns connections: 80, within
// PostgreSQL's default max_connections of 100.
const postgresConns = 10

// PostgresURL is a parsed DatabaseURL: where Temporal keeps its state.
type PostgresURL struct {
	// Address is host:port.
	Address  string
	User     string
	Password string
	// Database holds Temporal's state; Database+"_visibility" its visibility.
	Database string
	// Attributes are the URL's query parameters (sslmode=require, ...),
	// passed to the driver as they are.
	Attributes map[string]string
}

// ParsePostgresURL reads postgres://user:password@host:port/database[?param=value...].
// Every error names the part of the URL that is wrong; none repeats the password.
func ParsePostgresURL(raw string) (PostgresURL, error) {
	var p PostgresURL
	u, err := url.Parse(raw)
	if err != nil {
		// url's own error quotes the whole URL, password included.
		return p, errors.New("database URL: not a URL of the form postgres://user:password@host:port/database")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return p, fmt.Errorf("database URL: scheme %q: want postgres://", u.Scheme)
	}
	if u.User == nil || u.User.Username() == "" {
		return p, errors.New("database URL: user: missing (postgres://user:password@host:port/database)")
	}
	p.User = u.User.Username()
	p.Password, _ = u.User.Password()
	host, port := u.Hostname(), u.Port()
	if host == "" {
		return p, errors.New("database URL: host: missing")
	}
	if port == "" {
		port = "5432"
	}
	p.Address = net.JoinHostPort(host, port)
	p.Database = strings.TrimPrefix(u.Path, "/")
	if p.Database == "" || strings.Contains(p.Database, "/") {
		return p, fmt.Errorf("database URL: database: want one name after the port, got %q", p.Database)
	}
	// The schema tool quotes a database name into CREATE DATABASE "<name>".
	for _, r := range p.Database {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_') {
			return p, fmt.Errorf("database URL: database %q: use lower-case letters, digits and _ only", p.Database)
		}
	}
	p.Attributes = map[string]string{}
	for k, vs := range u.Query() {
		if len(vs) != 1 {
			return p, fmt.Errorf("database URL: parameter %s: given %d times, want once", k, len(vs))
		}
		p.Attributes[k] = vs[0]
	}
	return p, nil
}

// Redacted is the URL without its password, for banners and logs.
func (p PostgresURL) Redacted() string {
	return fmt.Sprintf("postgres://%s@%s/%s", p.User, p.Address, p.Database)
}

// sqlConfig is the server's connection settings for one of the two databases.
func (p PostgresURL) sqlConfig(database string) *config.SQL {
	attrs := make(map[string]string, len(p.Attributes))
	for k, v := range p.Attributes {
		attrs[k] = v
	}
	return &config.SQL{
		PluginName:        postgresql.PluginNamePGX,
		ConnectProtocol:   "tcp",
		ConnectAddr:       p.Address,
		User:              p.User,
		Password:          p.Password,
		DatabaseName:      database,
		ConnectAttributes: attrs,
		MaxConns:          postgresConns,
		MaxIdleConns:      postgresConns,
		MaxConnLifetime:   time.Hour,
	}
}

// postgresStores are the server's two stores on PostgreSQL.
func (p PostgresURL) postgresStores() (state, visibility *config.SQL) {
	return p.sqlConfig(p.Database), p.sqlConfig(p.Database + visibilityDatabaseSuffix)
}

// preparePostgres creates both databases when they are missing and brings
// their schemas to this server version's, with the server's own schema tool
// (what temporal-sql-tool's create, setup-schema -v 0.0 and update-schema
// do). Every step is idempotent, so a restart on the same databases is a no-op.
func preparePostgres(p PostgresURL, logger log.Logger) error {
	state, visibility := p.postgresStores()
	steps := []struct {
		cfg     *config.SQL
		schema  string
		version string
	}{
		{state, "postgresql/v12/temporal", postgresschema.Version},
		{visibility, "postgresql/v12/visibility", postgresschema.VisibilityVersion},
	}
	for _, s := range steps {
		if err := createDatabase(s.cfg, logger); err != nil {
			return err
		}
		conn, err := sqltool.NewConnection(s.cfg, logger)
		if err != nil {
			return fmt.Errorf("devserver: connect to database %s: %w", s.cfg.DatabaseName, err)
		}
		err = schematool.NewSetupSchemaTask(conn, &schematool.SetupConfig{InitialVersion: "0.0"}, logger).Run()
		if err == nil {
			err = schematool.NewUpdateSchemaTask(conn, &schematool.UpdateConfig{
				DBName: s.cfg.DatabaseName, SchemaName: s.schema, TargetVersion: s.version,
			}, logger).Run()
		}
		conn.Close()
		if err != nil {
			return fmt.Errorf("devserver: schema of database %s: %w", s.cfg.DatabaseName, err)
		}
	}
	return nil
}

// createDatabase creates a missing database from the "postgres" maintenance
// database. A user without the right to create databases can still use ones
// made for it: then only the database's own connection must work.
func createDatabase(cfg *config.SQL, logger log.Logger) error {
	maintenance := *cfg
	createErr := sqltool.DoCreateDatabase(&maintenance, "postgres", logger)
	if createErr == nil {
		return nil
	}
	conn, err := sqltool.NewConnection(cfg, logger)
	if err == nil {
		_, err = conn.ListTables()
		conn.Close()
	}
	if err != nil {
		return fmt.Errorf("devserver: database %s: cannot create it (%v) nor use it: %w", cfg.DatabaseName, createErr, err)
	}
	return nil
}
