// Command daifuku is the local and marketer-side tool: run the main job on
// this machine, import a shop's spreadsheets, validate the templates.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"

	"github.com/daifuku/daifuku/infra/local"
	"github.com/daifuku/daifuku/shared/config"
)

const usage = `usage: daifuku <command> [flags]

commands:
  run                         start DynamoDB Local and the capture servers, import the
                              sample ledger, send what it queues, print a summary
  import customers FILE.csv   add or update customers
  import orders FILE.csv      record orders (and thank them, when recent)
  validate                    check rank rules, shop and every template

flags (run, import):
  -dir .local      state folder (DynamoDB data, outbox)
  -seed infra/seed the sample ledger for run
Environment: DYNAMODB_ENDPOINT, LINE_CHANNEL_ACCESS_TOKEN, LINE_API_ENDPOINT,
SENDGRID_API_KEY, SENDGRID_API_HOST, TEMPLATES_DIR.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "daifuku:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("no command")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", ".local", "state folder")
	seed := fs.String("seed", "infra/seed", "sample ledger folder")
	content, err := config.ContentFromEnv()
	if err != nil {
		return err
	}
	switch args[0] {
	case "validate":
		fmt.Println("rank rules, shop and templates are valid")
		return nil
	case "run", "import", "stubs":
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
	default:
		fmt.Fprint(os.Stderr, usage)
		return fmt.Errorf("unknown command %q", args[0])
	}

	// Logs go to a file: the terminal shows the summary.
	logFile, err := openLog(*dir)
	if err != nil {
		return err
	}
	defer logFile.Close()
	opts := local.Options{
		Dir: *dir, DynamoDB: os.Getenv("DYNAMODB_ENDPOINT"), Content: content,
		Log: slog.New(slog.NewJSONHandler(logFile, nil)),
	}
	if args[0] == "stubs" {
		// Docker containers reach the host, so listen beyond loopback.
		opts.CaptureAddr, opts.Capture = ":8090", true
	}
	env, err := local.Start(ctx, opts)
	if err != nil {
		return err
	}
	defer env.Close()

	summary := &local.Summary{Messages: map[[3]string]int{}}
	switch args[0] {
	case "stubs":
		fmt.Printf("DynamoDB Local: %s (tables %s*)\ncapture server: %s (LINE, SendGrid, SQS) → %s/outbox\nCtrl-C stops both.\n",
			env.DynamoDB, local.TablePrefix, env.CaptureURL, *dir)
		<-ctx.Done()
		return nil
	case "run":
		if summary, err = env.Run(ctx, *seed); err != nil {
			return err
		}
	case "import":
		rest := fs.Args()
		if len(rest) != 2 {
			return fmt.Errorf("usage: daifuku import customers|orders FILE.csv")
		}
		switch rest[0] {
		case "customers":
			err = env.ImportCustomers(ctx, rest[1], summary)
		case "orders":
			if _, err = env.ImportOrders(ctx, rest[1], summary); err == nil {
				err = env.SendQueued(ctx)
			}
		default:
			err = fmt.Errorf("import %q: want customers or orders", rest[0])
		}
		if err != nil {
			return err
		}
	}
	summary.Print(os.Stdout)
	if env.Capture != nil {
		fmt.Printf("outbox: %s/outbox/line and %s/outbox/email hold every request body the capture servers received\n", *dir, *dir)
	}
	fmt.Printf("logs: %s/daifuku.log\n", *dir)
	return nil
}

func openLog(dir string) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return os.OpenFile(dir+"/daifuku.log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}
