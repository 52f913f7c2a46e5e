// Package config reads a function's configuration from its environment, once,
// and fails fast naming every missing variable.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything a function can be configured with. template.yaml sets
// these; the local stack sets the endpoint overrides.
type Config struct {
	TableName      string // TABLE_NAME
	CursorSecret   string // CURSOR_SECRET: keys cursors (AES-GCM)
	Region         string // AWS_REGION (set by Lambda)
	DynamoEndpoint string // DYNAMODB_ENDPOINT: override for local use
	S3Endpoint     string // S3_ENDPOINT
	SESEndpoint    string // SES_ENDPOINT
	APIBaseURL     string // API_BASE_URL: optional, else the request's host
	MailFrom       string // MAIL_FROM: sender of every email (an SES identity)
	// MailConfigurationSet is MAIL_CONFIGURATION_SET: the SES configuration
	// set of every email, whose events report deliveries and bounces.
	MailConfigurationSet string
	LogLevel             string // LOG_LEVEL: debug, info (default), warn, error
	ExportsBucket        string // EXPORTS_BUCKET: where export files go (under exports/)
	EventBus             string // EVENT_BUS_NAME: the bus the history is published to
	EventsEndpoint       string // EVENTS_ENDPOINT: EventBridge override for local use
	// ExportLinkTTL is EXPORT_LINK_TTL_SECONDS: the life of a presigned
	// download link, 60 s to 7 days (SigV4's limit), default 15 minutes.
	ExportLinkTTL time.Duration
	CRMKeyID      string // CRM_KMS_KEY_ID: the KMS key sealing CRM credentials
	KMSEndpoint   string // KMS_ENDPOINT: override for local use
	// CRMAllowedOrigins is CRM_ALLOWED_ORIGINS (comma-separated): CRM URLs
	// allowed beside the providers' own data centres (the local stand-in).
	CRMAllowedOrigins []string
	// The execution role's credentials, as Lambda sets them.
	AccessKeyID     string // AWS_ACCESS_KEY_ID
	SecretAccessKey string // AWS_SECRET_ACCESS_KEY
	SessionToken    string // AWS_SESSION_TOKEN
}

// DefaultExportLinkTTL is the life of a download link unless configured.
const DefaultExportLinkTTL = 15 * time.Minute

// Load reads the configuration with getenv and checks that the variables in
// required are set.
func Load(getenv func(string) string, required ...string) (Config, error) {
	c := Config{
		TableName:            getenv("TABLE_NAME"),
		CursorSecret:         getenv("CURSOR_SECRET"),
		Region:               getenv("AWS_REGION"),
		DynamoEndpoint:       getenv("DYNAMODB_ENDPOINT"),
		S3Endpoint:           getenv("S3_ENDPOINT"),
		SESEndpoint:          getenv("SES_ENDPOINT"),
		APIBaseURL:           getenv("API_BASE_URL"),
		MailFrom:             getenv("MAIL_FROM"),
		MailConfigurationSet: getenv("MAIL_CONFIGURATION_SET"),
		LogLevel:             getenv("LOG_LEVEL"),
		ExportsBucket:        getenv("EXPORTS_BUCKET"),
		EventBus:             getenv("EVENT_BUS_NAME"),
		EventsEndpoint:       getenv("EVENTS_ENDPOINT"),
		ExportLinkTTL:        DefaultExportLinkTTL,
		CRMKeyID:             getenv("CRM_KMS_KEY_ID"),
		KMSEndpoint:          getenv("KMS_ENDPOINT"),
		AccessKeyID:          getenv("AWS_ACCESS_KEY_ID"),
		SecretAccessKey:      getenv("AWS_SECRET_ACCESS_KEY"),
		SessionToken:         getenv("AWS_SESSION_TOKEN"),
	}
	for o := range strings.SplitSeq(getenv("CRM_ALLOWED_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CRMAllowedOrigins = append(c.CRMAllowedOrigins, o)
		}
	}
	var missing []string
	for _, name := range required {
		if getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return c, fmt.Errorf("missing required environment variable(s): %s", strings.Join(missing, ", "))
	}
	if v := getenv("EXPORT_LINK_TTL_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 60 || n > 7*24*3600 {
			return c, fmt.Errorf("EXPORT_LINK_TTL_SECONDS must be a whole number of seconds from 60 to 604800 (7 days), got %q", v)
		}
		c.ExportLinkTTL = time.Duration(n) * time.Second
	}
	if c.CursorSecret != "" && len(c.CursorSecret) < 32 {
		return c, fmt.Errorf("CURSOR_SECRET must be at least 32 characters")
	}
	return c, nil
}

// Logger is the logger of every function: slog's JSON handler on stdout,
// one line per record, at LOG_LEVEL (info when it does not parse).
func (c Config) Logger() *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: l}))
}

// Required variables of every API function.
var API = []string{"TABLE_NAME", "CURSOR_SECRET"}

// Mail adds what a function that sends email needs.
var Mail = append(API[:len(API):len(API)], "MAIL_FROM")

// Reminders is what the scheduled reminders need: no request to take the
// API's address from, so invitation links need API_BASE_URL.
var Reminders = append(Mail[:len(Mail):len(Mail)], "API_BASE_URL")

// Exports is what the exports API needs: the bucket it presigns downloads of.
var Exports = append(API[:len(API):len(API)], "EXPORTS_BUCKET")

// CRM is what the crm function needs: mail for the invitations of
// imports, and the key of the credentials.
var CRM = append(Mail[:len(Mail):len(Mail)], "CRM_KMS_KEY_ID")

// ExportWorker is what the export worker needs.
var ExportWorker = Exports

// Events is what the events function needs: the bus, and no table (the
// stream brings the history).
var Events = []string{"EVENT_BUS_NAME"}
