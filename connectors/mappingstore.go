package connectors

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.yaml.in/yaml/v3"
)

// Mappings stores connectors' code mappings in PostgreSQL.
type Mappings struct {
	pool *pgxpool.Pool

	mu    sync.Mutex
	cache map[string]cachedSet // by connector
	kinds map[string]Spec      // instance name -> its kind, as Build made it
}

// mappingsTTL bounds how long a process maps codes with a connector's
// mappings as it last read them: every message needs them, and they change
// rarely. A change made through this process is seen at once; one made
// through another process, within the TTL.
const mappingsTTL = time.Second

type cachedSet struct {
	set     *MappingSet // nil until the first load ends
	expires time.Time
	// reloaded is closed when the reload in progress ends; nil when none
	// is. One caller reloads an expired set; the others go on with the
	// previous one meanwhile (or wait for the first load), rather than all
	// reading the same rows at once.
	reloaded chan struct{}
}

// NewMappings returns the mapping store on pool.
func NewMappings(pool *pgxpool.Pool) *Mappings { return &Mappings{pool: pool} }

// List returns the stored mappings of connector (not its defaults).
func (m *Mappings) List(ctx context.Context, connector string) ([]Mapping, error) {
	rows, _ := m.pool.Query(ctx, `SELECT kind, property_id, partner_code, roomwire_code FROM connector_mappings
		WHERE connector = $1 ORDER BY kind, property_id, partner_code`, connector)
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Mapping, error) {
		var x Mapping
		return x, r.Scan(&x.Kind, &x.Property, &x.Partner, &x.Roomwire)
	})
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	return list, nil
}

// Set returns connector's mappings ready to use: its registered defaults,
// overridden by the stored ones. When they are older than mappingsTTL, one
// caller reads them again while the others use the set read before.
func (m *Mappings) Set(ctx context.Context, connector string) (*MappingSet, error) {
	for {
		now := time.Now()
		m.mu.Lock()
		c := m.cache[connector]
		switch {
		case c.set != nil && now.Before(c.expires):
			m.mu.Unlock()
			return c.set, nil
		case c.reloaded != nil && c.set != nil:
			m.mu.Unlock()
			return c.set, nil // another caller is reloading it
		case c.reloaded != nil:
			m.mu.Unlock()
			select { // the first load: nothing to use meanwhile
			case <-c.reloaded:
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("mappings: %w", ctx.Err())
			}
		}
		if m.cache == nil {
			m.cache = map[string]cachedSet{}
		}
		done := make(chan struct{})
		c.reloaded = done
		m.cache[connector] = c
		m.mu.Unlock()
		return m.reload(ctx, connector, done)
	}
}

// reload reads connector's mappings for Set and caches them, unless they
// were forgotten meanwhile (changed through this process): then the set
// read is this caller's alone, and the next caller reads them afresh.
func (m *Mappings) reload(ctx context.Context, connector string, done chan struct{}) (*MappingSet, error) {
	now := time.Now()
	stored, err := m.List(ctx, connector)
	var set *MappingSet
	if err == nil {
		set = NewMappingSet(connector, m.Defaults(connector), stored)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	defer close(done)
	c, ok := m.cache[connector]
	if !ok || c.reloaded != done {
		return set, err
	}
	c.reloaded = nil
	if err == nil {
		c.set, c.expires = set, now.Add(mappingsTTL)
	}
	m.cache[connector] = c // on an error the previous set stays, expired
	return set, err
}

// bind records that the instance called name is of the kind s, whose
// default mappings it starts from.
func (m *Mappings) bind(name string, s Spec) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.kinds == nil {
		m.kinds = map[string]Spec{}
	}
	m.kinds[name] = s
	delete(m.cache, name)
}

// kind returns the registration of the instance called name: the kind Build
// made it of, or the connector registered under that name.
func (m *Mappings) kind(name string) (Spec, bool) {
	m.mu.Lock()
	s, ok := m.kinds[name]
	m.mu.Unlock()
	if ok {
		return s, true
	}
	return Lookup(name)
}

// Known reports whether connector names a connector instance built on
// this store, or a registered connector.
func (m *Mappings) Known(connector string) bool {
	_, ok := m.kind(connector)
	return ok
}

// Instances returns the names Known accepts, sorted, for messages.
func (m *Mappings) Instances() []string {
	seen := map[string]bool{}
	for _, n := range Names() {
		seen[n] = true
	}
	m.mu.Lock()
	for n := range m.kinds {
		seen[n] = true
	}
	m.mu.Unlock()
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Defaults returns connector's built-in mappings: its kind's.
func (m *Mappings) Defaults(connector string) []Mapping {
	s, _ := m.kind(connector)
	return s.DefaultMappings
}

// Replace makes list the stored mappings of connector, in one transaction.
func (m *Mappings) Replace(ctx context.Context, connector string, list []Mapping) error {
	if err := ValidateMappings(list); err != nil {
		return err
	}
	defer m.forget(connector)
	return pgx.BeginFunc(ctx, m.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM connector_mappings WHERE connector = $1`, connector); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, x := range list {
			b.Queue(`INSERT INTO connector_mappings (connector, kind, property_id, partner_code, roomwire_code) VALUES ($1, $2, $3, $4, $5)`,
				connector, string(x.Kind), x.Property, x.Partner, x.Roomwire)
		}
		return tx.SendBatch(ctx, b).Close()
	})
}

// forget drops a connector's cached mappings after this process changed them.
func (m *Mappings) forget(connector string) {
	m.mu.Lock()
	delete(m.cache, connector)
	m.mu.Unlock()
}

// MappingFile is the mapping file's form: connector instance name to its
// mappings.
//
//	apaleo:
//	  - {kind: property, partner: LIS, roomwire: LIS}
//	  - {kind: room_type, property: LIS, partner: LIS-DBL, roomwire: DBL}
//
// JSON is YAML too, so the same file may be written as JSON.
type MappingFile map[string][]Mapping

// ReadMappingFile reads and checks a mapping file: each key must be a
// connector instance name and each mapping valid.
func ReadMappingFile(path string) (MappingFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("mappings: %w", err)
	}
	var f MappingFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("mappings %s: %v", path, err)
	}
	names := make([]string, 0, len(f))
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !ValidInstanceName(n) {
			return nil, fmt.Errorf("mappings %s: %q is not a connector instance name (lower-case letters, digits, _ and -)", path, SafeText(n, 40))
		}
		if err := ValidateMappings(f[n]); err != nil {
			return nil, fmt.Errorf("mappings %s: %s: %w", path, n, err)
		}
	}
	return f, nil
}

// LoadFile stores the mappings of the file at path, replacing the stored
// mappings of every connector instance it names. serve calls it at start
// when a mapping file is configured; the file is then the record for those
// instances. One file may serve several configurations, so it may name
// instances a process does not run.
func (m *Mappings) LoadFile(ctx context.Context, path string) error {
	f, err := ReadMappingFile(path)
	if err != nil {
		return err
	}
	for n, list := range f {
		if err := m.Replace(ctx, n, list); err != nil {
			return fmt.Errorf("mappings %s: %s: %w", path, n, err)
		}
	}
	return nil
}
