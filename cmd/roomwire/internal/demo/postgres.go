package demo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// installPostgresHint says what to install when no PostgreSQL can be found or
// started.
const installPostgresHint = `Install PostgreSQL and run the demo again:
    sudo apt-get install -y postgresql        # Debian, Ubuntu
or point DATABASE_URL at a server where the user may create databases, e.g.
    export DATABASE_URL='postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable'`

// privatePostgres is a PostgreSQL server the demo runs for itself, in its
// state directory, when no server answers. It trusts local connections and
// listens on 127.0.0.1 only.
type privatePostgres struct {
	bin     string // directory of initdb, pg_ctl and postgres
	dataDir string
	logFile string
	port    int
	runAs   string // the user the server runs as when we are root; "" otherwise
}

// findPostgresBin returns the directory holding PostgreSQL's server programs:
// on PATH, or the newest under /usr/lib/postgresql/*/bin (where Debian puts
// them, off PATH).
func findPostgresBin() (string, error) {
	var dirs []string
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(found, func(i, j int) bool { return pgMajor(found[i]) > pgMajor(found[j]) })
	dirs = append(dirs, found...)
	for _, d := range dirs {
		ok := true
		for _, prog := range []string{"initdb", "pg_ctl", "postgres"} {
			if st, err := os.Stat(filepath.Join(d, prog)); err != nil || st.IsDir() {
				ok = false
				break
			}
		}
		if ok {
			return d, nil
		}
	}
	return "", errors.New("PostgreSQL's server programs (initdb, pg_ctl, postgres) are not installed")
}

func pgMajor(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// startPrivatePostgres initialises (once) and starts a server with its data
// under dir. initdb and postgres refuse to run as root, so as root they run
// as the postgres user, which must be able to reach dir; if it cannot (a
// home directory closed to others), a directory under the system's temporary
// directory is used instead.
func startPrivatePostgres(ctx context.Context, dir string, say func(string, ...any)) (*privatePostgres, error) {
	bin, err := findPostgresBin()
	if err != nil {
		return nil, err
	}
	p := &privatePostgres{bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, errors.New("running as root, and PostgreSQL refuses to run as root, but there is no postgres user to run it as; run the demo as another user")
		}
		p.runAs = u.Username
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		if p.command(ctx, "test", "-w", dir).Run() != nil {
			tmp := filepath.Join(os.TempDir(), "roomwire-demo-postgres")
			say("the postgres user cannot reach %s; keeping the private database in %s", dir, tmp)
			dir = tmp
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, err
			}
			if err := os.Chown(dir, uid, gid); err != nil {
				return nil, err
			}
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	p.dataDir = filepath.Join(dir, "data")
	p.logFile = filepath.Join(dir, "postgres.log")

	if _, err := os.Stat(filepath.Join(p.dataDir, "PG_VERSION")); err != nil {
		say("initialising a private PostgreSQL in %s", p.dataDir)
		out, err := p.command(ctx, filepath.Join(bin, "initdb"), "-D", p.dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-instructions").CombinedOutput()
		if err != nil {
			return nil, fmt.Errorf("initdb: %v\n%s", err, lastLines(out, 10))
		}
	}
	if p.port, err = freePort(); err != nil {
		return nil, err
	}
	// TCP on 127.0.0.1 only, and no unix socket: /var/run/postgresql may not
	// be writable, and a socket under a deep state directory can exceed the
	// length a socket path may have. pg_ctl hands the options to a shell.
	opts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -c unix_socket_directories=''", p.port)
	out, err := p.command(ctx, filepath.Join(bin, "pg_ctl"), "-D", p.dataDir, "-l", p.logFile, "-o", opts, "-w", "-t", "60", "start").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("pg_ctl start: %v\n%s\n(see %s)", err, lastLines(out, 10), p.logFile)
	}
	return p, nil
}

// URL is the superuser's connection URL.
func (p *privatePostgres) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// stop shuts the server down, letting it finish cleanly.
func (p *privatePostgres) stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := p.command(ctx, filepath.Join(p.bin, "pg_ctl"), "-D", p.dataDir, "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl stop: %v: %s", err, lastLines(out, 5))
	}
	return nil
}

// command runs a program as the server's user.
func (p *privatePostgres) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if p.runAs == "" {
		return exec.CommandContext(ctx, name, args...)
	}
	if runuser, err := exec.LookPath("runuser"); err == nil {
		return exec.CommandContext(ctx, runuser, append([]string{"-u", p.runAs, "--", name}, args...)...)
	}
	quoted := make([]string, 0, len(args)+1)
	for _, a := range append([]string{name}, args...) {
		quoted = append(quoted, "'"+strings.ReplaceAll(a, "'", `'\''`)+"'")
	}
	return exec.CommandContext(ctx, "su", "-s", "/bin/sh", p.runAs, "-c", strings.Join(quoted, " "))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
