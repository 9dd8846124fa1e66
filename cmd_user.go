package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/batonbpm/baton/engine/sqlstore"
	"github.com/batonbpm/baton/server/auth"
)

// passwordInput is where `baton user passwd` reads a password without
// --password; tests replace it.
var passwordInput io.Reader = os.Stdin

// openAuth opens the database at url (applying migrations) and its Auth.
func openAuth(ctx context.Context, url string) (*auth.Auth, func(), error) {
	db, err := sqlstore.OpenDB(ctx, url)
	if err != nil {
		return nil, nil, err
	}
	closeDB := func() {
		if d, err := db.DB(); err == nil {
			d.Close()
		}
	}
	a, err := auth.New(ctx, db, auth.Config{})
	if err != nil {
		closeDB()
		return nil, nil, err
	}
	return a, closeDB, nil
}

// cmdAccounts runs `baton user`, `baton group` and `baton apikey`.
func cmdAccounts(noun string, args []string, stdout, stderr io.Writer) int {
	verbs := map[string][]string{"user": {"add", "passwd"}, "group": {"add"}, "apikey": {"create", "revoke"}}
	if len(args) == 0 || !contains(verbs[noun], args[0]) {
		fmt.Fprintf(stderr, "baton %s: expected one of %s\n\n%s", noun, strings.Join(verbs[noun], ", "), usage)
		return 2
	}
	verb := args[0]
	name := "baton " + noun + " " + verb
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dbURL := fs.String("database-url", envOr("BATON_DATABASE_URL", databaseURLDefault), "database: sqlite://FILE or postgres://… (env BATON_DATABASE_URL)")
	password := fs.String("password", "", "the password (user add; user passwd reads it from standard input without it)")
	groups := fs.String("groups", "", "comma-separated groups of the user, created when missing")
	role := fs.String("role", "", "role: "+strings.Join(auth.Roles, ", "))
	display := fs.String("display-name", "", "the user's display name")
	flags, pos := splitArgs(args[1:], map[string]bool{"database-url": true, "password": true, "groups": true, "role": true, "display-name": true})
	if err := fs.Parse(flags); err != nil {
		return 2
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "%s: expected one NAME, got %q\n", name, pos)
		return 2
	}
	ctx := context.Background()
	a, closeDB, err := openAuth(ctx, *dbURL)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	defer closeDB()
	switch noun + " " + verb {
	case "user add":
		if *role == "" {
			*role = auth.RoleStaff
		}
		var gs []string
		for _, g := range strings.Split(*groups, ",") {
			if g = strings.TrimSpace(g); g != "" {
				gs = append(gs, g)
			}
		}
		err = a.UserAdd(ctx, &auth.UserAddParams{Name: pos[0], Password: *password, Role: *role, DisplayName: *display, Groups: gs})
		if err == nil {
			fmt.Fprintf(stdout, "added user %s (role %s, groups %s)\n", pos[0], *role, strings.Join(gs, ","))
		}
	case "user passwd":
		pw := *password
		if pw == "" {
			line, rerr := bufio.NewReader(passwordInput).ReadString('\n')
			if rerr != nil && line == "" {
				fmt.Fprintf(stderr, "%s: read the password from standard input: %v\n", name, rerr)
				return 1
			}
			pw = strings.TrimRight(line, "\r\n")
		}
		if err = a.UserPasswd(ctx, pos[0], pw); err == nil {
			fmt.Fprintf(stdout, "set the password of %s\n", pos[0])
		}
	case "group add":
		if err = a.GroupAdd(ctx, pos[0]); err == nil {
			fmt.Fprintf(stdout, "added group %s\n", pos[0])
		}
	case "apikey create":
		var secret string
		if secret, err = a.APIKeyCreate(ctx, pos[0], *role); err == nil {
			fmt.Fprintf(stderr, "created API key %s (role %s); its secret is shown this once:\n", pos[0], *role)
			fmt.Fprintln(stdout, secret)
		}
	case "apikey revoke":
		if err = a.APIKeyRevoke(ctx, pos[0]); err == nil {
			fmt.Fprintf(stdout, "revoked API key %s\n", pos[0])
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
