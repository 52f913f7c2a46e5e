// Command local runs Clientele's local stack (`make run`) or prints a staff
// token for it (`go run ./infra/local token --portal demo --role admin`).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/clientele/clientele/infra/local/devjwt"
	"github.com/clientele/clientele/infra/local/stack"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cmd := "run"
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "run":
		return serve(args)
	case "token":
		return token(args)
	}
	return fmt.Errorf("unknown command %q (use run or token)", cmd)
}

// keyPath is where the dev signing key lives, so tokens printed by `token`
// verify against a running stack and survive its restarts.
func keyPath() (string, error) {
	if p := os.Getenv("CLIENTELE_DEV_KEY"); p != "" {
		return p, nil
	}
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("find a cache directory for the dev signing key (or set CLIENTELE_DEV_KEY): %w", err)
	}
	return filepath.Join(dir, "clientele", "dev-jwt-key.pem"), nil
}

func token(args []string) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	portal := fs.String("portal", stack.Portal, "portal id (portal_id claim)")
	role := fs.String("role", "owner", "role claim: owner, admin or member")
	sub := fs.String("sub", "dev-user", "subject claim")
	ttl := fs.Duration("ttl", 12*time.Hour, "lifetime")
	addr := fs.String("stack", "http://127.0.0.1:3000", "a running local stack, whose clock (moved by /_local/clock) the token follows")
	if err := fs.Parse(args); err != nil {
		return err
	}
	path, err := keyPath()
	if err != nil {
		return err
	}
	key, err := devjwt.LoadOrCreateKey(path)
	if err != nil {
		return err
	}
	tok, err := devjwt.NewIssuer(key, stack.Issuer, stack.Audience, stackNow(*addr)).Token(*portal, *role, *sub, *ttl)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}

func serve(args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:3000", "listen address (loopback only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if host, _, err := net.SplitHostPort(*addr); err != nil || !net.ParseIP(host).IsLoopback() {
		return fmt.Errorf("--addr must be a loopback address, got %q", *addr)
	}
	path, err := keyPath()
	if err != nil {
		return err
	}
	key, err := devjwt.LoadOrCreateKey(path)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := stack.Start(ctx, stack.Options{Key: key, Log: os.Stdout})
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen on %s (is another `make run` running?): %w", *addr, err)
	}
	base := "http://" + *addr
	fmt.Printf(`Clientele local stack
  API            %[1]s   (routes from template.yaml)
  OpenAPI        %[1]s/openapi.yaml
  Sent mail      %[1]s/_local/mail   (JSON: /_local/mail.json)
  Events         %[1]s/_local/events (EventBridge, newest first; ?detail-type=user.created)
  SES feedback   POST %[1]s/_local/mail/{messageId}/{delivery,bounce,complaint,reject}
  Clock          POST %[1]s/_local/clock  {"advance":"25h"}
  Portal         %[2]s (owner token below, valid 12h; more: go run ./infra/local token --portal %[2]s --role admin)

export TOKEN=%[3]s

Ctrl-C stops the stack; data lives in memory only.
`, base, stack.Portal, st.Token(stack.Portal, "owner", "dev-owner"))
	srv := &http.Server{Handler: st.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// stackNow is the clock of a running local stack, which /_local/clock may
// have moved, so that a token printed now is valid there; the real clock
// when no stack answers.
func stackNow(base string) func() time.Time {
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Get(base + "/_local/clock")
	if err != nil {
		return time.Now
	}
	defer resp.Body.Close()
	var body struct {
		Now time.Time `json:"now"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || body.Now.IsZero() {
		return time.Now
	}
	offset := time.Until(body.Now)
	return func() time.Time { return time.Now().Add(offset) }
}
