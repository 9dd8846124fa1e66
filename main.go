// Command baton is the Baton BPMN engine: it validates models, simulates
// them, and (with the durable store) serves the API and inbox.
package main

import (
	"fmt"
	"io"
	"os"
)

const usage = `Usage: baton COMMAND [ARGS]

Commands:
  validate [--json] FILE...     check BPMN files; prints FILE:LINE: ID (kind): message
                                and exits 1 when any file has an error
  simulate MODEL.bpmn [--process ID] [--vars JSON] [--complete ELEMENT=JSON]...
                                run one instance in memory, completing user and service
                                tasks with the given variables; prints the path as JSON
                                lines; exits 0 when it completes, 2 when it waits or
                                has an incident
  serve [--addr A] [--database-url URL] [--log-format text|json] [--deploy DIR] [--demo]
                                serve /api/v1, /healthz, /readyz and /metrics (env
                                BATON_ADDR, BATON_DATABASE_URL, BATON_LOG_FORMAT,
                                BATON_SESSION_SECRET); --deploy deploys the .bpmn
                                files of DIR first; --demo adds demo users when
                                there are no users
  migrate [--database-url URL]  apply the database migrations and exit
  user add NAME --password P [--groups g1,g2] [--role R] [--display-name D]
                                add a user (role admin, analyst, staff (default),
                                developer or auditor); missing groups are created
  user passwd NAME [--password P]
                                set a user's password (read from standard input
                                without --password)
  group add NAME                add a group
  apikey create NAME --role R   create an API key for a service account and print
                                its secret, once
  apikey revoke NAME            revoke an API key
                                (user, group and apikey take --database-url like serve)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes the command line args and returns the exit code.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "validate":
		return cmdValidate(args[1:], stdout, stderr)
	case "simulate":
		return cmdSimulate(args[1:], stdout, stderr)
	case "serve":
		return cmdServe(args[1:], stdout, stderr)
	case "migrate":
		return cmdMigrate(args[1:], stdout, stderr)
	case "user", "group", "apikey":
		return cmdAccounts(args[0], args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "baton: unknown command %q\n\n%s", args[0], usage)
	return 2
}

// splitArgs separates flags from positional arguments, so flags may follow
// the files as in `baton simulate model.bpmn --vars '{}'`. valued names the
// flags that take a value.
func splitArgs(args []string, valued map[string]bool) (flags, positional []string) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			positional = append(positional, args[i+1:]...)
			break
		}
		if len(a) > 1 && a[0] == '-' {
			flags = append(flags, a)
			name := a
			for len(name) > 0 && name[0] == '-' {
				name = name[1:]
			}
			if valued[name] && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		positional = append(positional, a)
	}
	return flags, positional
}
