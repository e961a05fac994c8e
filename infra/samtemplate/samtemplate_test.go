package samtemplate_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"gopkg.in/yaml.v3"

	"github.com/daifuku/daifuku/infra/samtemplate"
	"github.com/daifuku/daifuku/shared/edge/handler"
)

// eventTypes maps a SAM event source type to the Go type its handler takes.
var eventTypes = map[string]func() any{
	"SQS":             func() any { return new(events.SQSEvent) },
	"HttpApi":         func() any { return new(events.APIGatewayV2HTTPRequest) },
	"EventBridgeRule": func() any { return new(events.EventBridgeEvent) },
	"ScheduleV2":      func() any { return new(handler.Event) }, // the schedule's Input, delivered as is
}

// functionDirs maps each function to its package, as the Makefile's build targets say.
func functionDirs(t *testing.T, root string) map[string]string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	re := regexp.MustCompile(`(?m)^build-(\w+):\s*\n\t\$\(LAMBDA_BUILD\) \./(functions/[\w-]+)\s*$`)
	for _, m := range re.FindAllStringSubmatch(string(mk), -1) {
		dirs[m[1]] = m[2]
	}
	return dirs
}

func TestEveryFunctionBuildsAndHasEvents(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dirs := functionDirs(t, root)
	fns := tpl.OfType("AWS::Serverless::Function")
	if len(fns) < 4 {
		t.Fatalf("functions = %v, want api, order, sender and schedule", fns)
	}
	eventFiles, _ := filepath.Glob(filepath.Join(root, "events", "*.json"))
	used := map[string]bool{}
	for _, id := range fns {
		t.Run(id, func(t *testing.T) {
			res := tpl.Resources[id]
			var meta struct {
				BuildMethod string `yaml:"BuildMethod"`
			}
			var props struct {
				CodeUri string `yaml:"CodeUri"`
				Events  map[string]struct {
					Type string `yaml:"Type"`
				} `yaml:"Events"`
			}
			if err := res.Metadata.Decode(&meta); err != nil || meta.BuildMethod != "makefile" {
				t.Errorf("Metadata.BuildMethod = %q, want makefile", meta.BuildMethod)
			}
			if err := res.Properties.Decode(&props); err != nil {
				t.Fatal(err)
			}
			if props.CodeUri != "." {
				t.Errorf("CodeUri = %q, want . (the Makefile lives at the root)", props.CodeUri)
			}
			dir, ok := dirs[id]
			if !ok {
				t.Fatalf("Makefile has no build-%s target of the form `$(LAMBDA_BUILD) ./functions/<name>`", id)
			}
			main, err := os.ReadFile(filepath.Join(root, dir, "main.go"))
			if err != nil || !bytes.Contains(main, []byte("package main")) || !bytes.Contains(main, []byte("lambda.Start")) {
				t.Errorf("%s/main.go must be a main package calling lambda.Start", dir)
			}
			var srcType string
			for _, e := range props.Events {
				if srcType != "" && e.Type != srcType {
					t.Fatalf("events of types %s and %s: one handler takes one event type", srcType, e.Type)
				}
				srcType = e.Type
			}
			newEvent, ok := eventTypes[srcType]
			if !ok {
				t.Fatalf("no Go event type known for %s", srcType)
			}
			prefix := filepath.Base(dir) + "-"
			n := 0
			for _, f := range eventFiles {
				if !strings.HasPrefix(filepath.Base(f), prefix) {
					continue
				}
				used[f] = true
				n++
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				dec := json.NewDecoder(bytes.NewReader(src))
				dec.DisallowUnknownFields()
				if err := dec.Decode(newEvent()); err != nil {
					t.Errorf("%s does not decode as the %s event its function takes: %v", filepath.Base(f), srcType, err)
				}
			}
			if n == 0 {
				t.Errorf("no events/%s*.json for sam local invoke", prefix)
			}
		})
	}
	for _, f := range eventFiles {
		if !used[f] {
			t.Errorf("%s matches no function (name it <function dir>-<what>.json)", filepath.Base(f))
		}
	}
}

func TestTablesComeFromTheTemplate(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	tables, err := tpl.Tables("x-")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]int{}
	for _, tb := range tables {
		names[*tb.Input.TableName] = len(tb.Input.GlobalSecondaryIndexes)
	}
	for name, gsis := range map[string]int{"x-CustomersTable": 5, "x-OrdersTable": 1, "x-MessagesTable": 5, "x-CampaignsTable": 2, "x-BatchesTable": 0, "x-TagsTable": 0, "x-ChannelsTable": 0,
		"x-InboxTable": 0, "x-FeedbackTable": 2, "x-PointsTable": 0, "x-ConsentTable": 0} {
		if got, ok := names[name]; !ok || got != gsis {
			t.Errorf("table %s: %d indexes (present %v), want %d", name, got, ok, gsis)
		}
	}
}

func TestSQSSourceReportsPartialBatchFailures(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	var props struct {
		Events map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				FunctionResponseTypes []string `yaml:"FunctionResponseTypes"`
			} `yaml:"Properties"`
		} `yaml:"Events"`
	}
	for fn, q := range map[string][2]string{"SenderFunction": {"Jobs", "SendQueue"}, "WebhookFunction": {"Batches", "WebhookQueue"},
		"FanOutFunction": {"Shards", "FanOutQueue"}} {
		fnProps := tpl.Resources[fn].Properties
		if err := fnProps.Decode(&props); err != nil {
			t.Fatal(err)
		}
		if got := props.Events[q[0]].Properties.FunctionResponseTypes; len(got) != 1 || got[0] != "ReportBatchItemFailures" {
			t.Errorf("%s SQS FunctionResponseTypes = %v, want [ReportBatchItemFailures]", fn, got)
		}
		var queue struct {
			RedrivePolicy struct {
				MaxReceiveCount int `yaml:"maxReceiveCount"`
			} `yaml:"RedrivePolicy"`
		}
		qProps := tpl.Resources[q[1]].Properties
		if err := qProps.Decode(&queue); err != nil || queue.RedrivePolicy.MaxReceiveCount == 0 {
			t.Errorf("%s has no RedrivePolicy to a DLQ: %v", q[1], err)
		}
	}
}

// sam local passes only the variables a function declares: every variable
// env.json sets must be declared in template.yaml for the functions it targets.
func TestEnvJSONSetsOnlyDeclaredVariables(t *testing.T) {
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := samtemplate.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	type envVars struct {
		Environment struct {
			Variables map[string]any `yaml:"Variables"`
		} `yaml:"Environment"`
	}
	var globals struct {
		Function envVars `yaml:"Function"`
	}
	if err := tpl.Globals.Decode(&globals); err != nil {
		t.Fatal(err)
	}
	declared := func(fn string) map[string]bool {
		out := map[string]bool{}
		for k := range globals.Function.Environment.Variables {
			out[k] = true
		}
		var p envVars
		props := tpl.Resources[fn].Properties
		_ = props.Decode(&p)
		for k := range p.Environment.Variables {
			out[k] = true
		}
		return out
	}
	src, err := os.ReadFile(filepath.Join(root, "env.json"))
	if err != nil {
		t.Fatal(err)
	}
	var env map[string]map[string]string
	if err := json.Unmarshal(src, &env); err != nil {
		t.Fatalf("env.json: %v", err)
	}
	fns := tpl.OfType("AWS::Serverless::Function")
	for section, vars := range env {
		targets := []string{section}
		if section == "Parameters" {
			targets = fns
		} else if _, ok := tpl.Resources[section]; !ok {
			t.Errorf("env.json section %q names no function", section)
			continue
		}
		for k := range vars {
			for _, fn := range targets {
				if !declared(fn)[k] {
					t.Errorf("env.json sets %s for %s, which template.yaml does not declare (sam local would ignore it)", k, fn)
				}
			}
		}
	}
}

// DynamoDB Local has no IAM, so no flow test notices a missing policy. Each
// function's policies must cover the tables its flows use: read (r) or
// write (w). Add a row here when a flow starts using a table.
func TestFunctionsMayUseTheirTables(t *testing.T) {
	needs := map[string]map[string]string{
		// orders, webhook intake, the feedback form, unsubscribes, voice, timelines
		// (and the studio: it saves and publishes content, and seeds it)
		"ApiFunction": {"CustomersTable": "w", "TagsTable": "w", "OrdersTable": "w", "MessagesTable": "w", "InboxTable": "w", "FeedbackTable": "w",
			"ContentTable": "w", "ReportsTable": "w", "CampaignsTable": "w", "ReferralsTable": "w", "PointsTable": "w"},
		// every function loads the published content, and looks for a new publish
		"OrderFunction": {"CustomersTable": "w", "TagsTable": "w", "OrdersTable": "w", "MessagesTable": "w", "ContentTable": "r", "ReportsTable": "w",
			"ReferralsTable": "w", "PointsTable": "w"},
		// sends, settles, pauses LINE, quotes customer voice
		// (and draws the referral code a template shows, for a customer without one)
		"SenderFunction": {"CustomersTable": "w", "OrdersTable": "r", "MessagesTable": "w", "ChannelsTable": "w", "FeedbackTable": "r",
			"ContentTable": "r", "ReportsTable": "w", "CampaignsTable": "r", "ReferralsTable": "w"},
		// events, replies, the new friend's welcome
		"WebhookFunction": {"CustomersTable": "w", "MessagesTable": "w", "InboxTable": "w", "FeedbackTable": "w", "ContentTable": "r", "ReportsTable": "w",
			"CampaignsTable": "w", "ReferralsTable": "w", "PointsTable": "w"},
		// a campaign's shards: decisions, multicasts, LINE pauses, voice
		"FanOutFunction": {"CustomersTable": "r", "TagsTable": "r", "MessagesTable": "w", "CampaignsTable": "w", "BatchesTable": "w", "ChannelsTable": "w",
			"FeedbackTable": "r", "ContentTable": "r", "ReportsTable": "w"},
		// the daily run, releases, campaigns (planning their shards; alone, deciding them)
		"ScheduleFunction": {"CustomersTable": "w", "TagsTable": "r", "MessagesTable": "w", "CampaignsTable": "w", "BatchesTable": "w", "ChannelsTable": "w", "FeedbackTable": "r",
			"ContentTable": "r", "ReportsTable": "w", "PointsTable": "w"},
	}
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	for fn, tables := range needs {
		var props struct {
			Policies []map[string]yaml.Node `yaml:"Policies"`
		}
		node := tpl.Resources[fn].Properties
		if err := node.Decode(&props); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		granted := map[string]string{}
		for _, p := range props.Policies {
			for name, node := range p {
				var v struct {
					TableName yaml.Node `yaml:"TableName"`
				}
				if name == "Statement" || node.Decode(&v) != nil {
					continue
				}
				switch name {
				case "DynamoDBCrudPolicy":
					granted[v.TableName.Value] = "w"
				case "DynamoDBReadPolicy":
					if granted[v.TableName.Value] == "" {
						granted[v.TableName.Value] = "r"
					}
				}
			}
		}
		for table, need := range tables {
			if got := granted[table]; got == "" || (need == "w" && got != "w") {
				t.Errorf("%s may %q %s, needs %q", fn, got, table, need)
			}
		}
	}
}

// Every dead-letter queue has an alarm on its depth: a job that failed for
// good is seen by someone, not only counted.
func TestEveryDeadLetterQueueHasAnAlarm(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	watched := map[string]bool{}
	for _, id := range tpl.OfType("AWS::CloudWatch::Alarm") {
		var p struct {
			MetricName string `yaml:"MetricName"`
			Dimensions []struct {
				Value yaml.Node `yaml:"Value"`
			} `yaml:"Dimensions"`
		}
		props := tpl.Resources[id].Properties
		if err := props.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, d := range p.Dimensions {
			if p.MetricName == "ApproximateNumberOfMessagesVisible" && d.Value.Tag == "!GetAtt" {
				watched[strings.TrimSuffix(d.Value.Value, ".QueueName")] = true
			}
		}
	}
	for _, id := range tpl.OfType("AWS::SQS::Queue") {
		if strings.Contains(id, "DeadLetter") && !watched[id] {
			t.Errorf("%s has no alarm on its depth", id)
		}
	}
}

// The monthly report: a private, encrypted bucket; a schedule at 09:00 on
// the 1st in Japan; and a schedule function that may write the bucket and is
// told where it is, whom to email and where the studio is.
func TestMonthlyReportIsScheduledAndStoredPrivately(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	b, ok := tpl.Resources["ReportsBucket"]
	if !ok || b.Type != "AWS::S3::Bucket" {
		t.Fatalf("no ReportsBucket of type AWS::S3::Bucket (%q)", b.Type)
	}
	var bucket struct {
		BucketEncryption struct {
			Rules []struct {
				Default struct {
					Algorithm string `yaml:"SSEAlgorithm"`
				} `yaml:"ServerSideEncryptionByDefault"`
			} `yaml:"ServerSideEncryptionConfiguration"`
		} `yaml:"BucketEncryption"`
		PublicAccess  map[string]bool `yaml:"PublicAccessBlockConfiguration"`
		AccessControl string          `yaml:"AccessControl"`
		Website       *yaml.Node      `yaml:"WebsiteConfiguration"`
		Lifecycle     struct {
			Rules []struct {
				Status string `yaml:"Status"`
			} `yaml:"Rules"`
		} `yaml:"LifecycleConfiguration"`
	}
	if err := b.Properties.Decode(&bucket); err != nil {
		t.Fatal(err)
	}
	if r := bucket.BucketEncryption.Rules; len(r) == 0 || r[0].Default.Algorithm == "" {
		t.Error("ReportsBucket is not encrypted by default")
	}
	for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
		if !bucket.PublicAccess[k] {
			t.Errorf("ReportsBucket PublicAccessBlockConfiguration.%s is not true", k)
		}
	}
	if bucket.AccessControl != "" && bucket.AccessControl != "Private" || bucket.Website != nil {
		t.Errorf("ReportsBucket is served publicly: AccessControl %q, website %v", bucket.AccessControl, bucket.Website != nil)
	}
	if len(bucket.Lifecycle.Rules) == 0 || bucket.Lifecycle.Rules[0].Status != "Enabled" {
		t.Error("ReportsBucket has no lifecycle rule enabled")
	}
	// No bucket policy may allow anyone: the one there only denies.
	for _, id := range tpl.OfType("AWS::S3::BucketPolicy") {
		var p struct {
			PolicyDocument struct {
				Statement []struct {
					Effect    string `yaml:"Effect"`
					Principal any    `yaml:"Principal"`
				} `yaml:"Statement"`
			} `yaml:"PolicyDocument"`
		}
		props := tpl.Resources[id].Properties
		if err := props.Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, st := range p.PolicyDocument.Statement {
			if st.Effect == "Allow" && st.Principal == "*" {
				t.Errorf("%s allows everyone", id)
			}
		}
	}

	var fn struct {
		Policies    []map[string]yaml.Node `yaml:"Policies"`
		Environment struct {
			Variables map[string]yaml.Node `yaml:"Variables"`
		} `yaml:"Environment"`
		Events map[string]struct {
			Type       string `yaml:"Type"`
			Properties struct {
				Expression string `yaml:"ScheduleExpression"`
				Timezone   string `yaml:"ScheduleExpressionTimezone"`
				Input      string `yaml:"Input"`
			} `yaml:"Properties"`
		} `yaml:"Events"`
	}
	props := tpl.Resources["ScheduleFunction"].Properties
	if err := props.Decode(&fn); err != nil {
		t.Fatal(err)
	}
	monthly := 0
	for name, ev := range fn.Events {
		var in handler.Event
		if err := json.Unmarshal([]byte(ev.Properties.Input), &in); err != nil || in.Task != "report" {
			continue
		}
		monthly++
		if ev.Type != "ScheduleV2" || ev.Properties.Expression != "cron(0 9 1 * ? *)" || ev.Properties.Timezone != "Asia/Tokyo" {
			t.Errorf("event %s: %s %q in %q, want ScheduleV2 cron(0 9 1 * ? *) in Asia/Tokyo (09:00 on the 1st in Japan)",
				name, ev.Type, ev.Properties.Expression, ev.Properties.Timezone)
		}
		if in.Month != "" {
			t.Errorf("event %s fixes the month %s: every 1st must report the month before it", name, in.Month)
		}
	}
	if monthly != 1 {
		t.Errorf("%d schedules of the report task, want 1", monthly)
	}
	writes := false
	for _, p := range fn.Policies {
		for name, node := range p {
			var v struct {
				BucketName yaml.Node `yaml:"BucketName"`
			}
			if (name == "S3WritePolicy" || name == "S3CrudPolicy") && node.Decode(&v) == nil &&
				v.BucketName.Tag == "!Ref" && v.BucketName.Value == "ReportsBucket" {
				writes = true
			}
		}
	}
	if !writes {
		t.Error("ScheduleFunction may not write ReportsBucket (S3WritePolicy)")
	}
	vars := fn.Environment.Variables
	for k, want := range map[string]string{"REPORTS_BUCKET": "ReportsBucket", "OWNER_EMAIL": "OwnerEmail", "STUDIO_URL": "StudioUrl"} {
		if v, ok := vars[k]; !ok || v.Tag != "!Ref" || v.Value != want {
			t.Errorf("ScheduleFunction %s = %s %q, want !Ref %s", k, v.Tag, v.Value, want)
		}
	}
	if _, ok := vars["SENDGRID_API_KEY"]; !ok {
		t.Error("ScheduleFunction has no SENDGRID_API_KEY: the owner's summary could not be sent")
	}
}

// The sender's instances are counted (SQS runs at most SenderMaxConcurrency
// of them), and every function is told the count, so each keeps to its
// share of the account's rate.
func TestSendersAreCountedSoTheirRatesAddUp(t *testing.T) {
	tpl, err := samtemplate.LoadRepo()
	if err != nil {
		t.Fatal(err)
	}
	var props struct {
		Events map[string]struct {
			Properties struct {
				ScalingConfig struct {
					MaximumConcurrency yaml.Node `yaml:"MaximumConcurrency"`
				} `yaml:"ScalingConfig"`
			} `yaml:"Properties"`
		} `yaml:"Events"`
	}
	for fn, want := range map[string][2]string{"SenderFunction": {"Jobs", "SenderMaxConcurrency"}, "FanOutFunction": {"Shards", "FanOutMaxConcurrency"}} {
		p := tpl.Resources[fn].Properties
		if err := p.Decode(&props); err != nil {
			t.Fatal(err)
		}
		if n := props.Events[want[0]].Properties.ScalingConfig.MaximumConcurrency; n.Tag != "!Ref" || n.Value != want[1] {
			t.Errorf("%s's SQS source: MaximumConcurrency %q %q, want !Ref %s", fn, n.Tag, n.Value, want[1])
		}
	}
	root, err := samtemplate.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^Globals:\n(?:  .*\n|\n)*?        SENDER_MAX_CONCURRENCY: !Ref SenderMaxConcurrency$`).Match(src) {
		t.Error("the functions are not told SENDER_MAX_CONCURRENCY in Globals")
	}
	if !regexp.MustCompile(`(?m)^Globals:\n(?:  .*\n|\n)*?        FANOUT_MAX_CONCURRENCY: !Ref FanOutMaxConcurrency$`).Match(src) {
		t.Error("the functions are not told FANOUT_MAX_CONCURRENCY in Globals")
	}
}
