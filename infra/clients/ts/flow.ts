// The TypeScript client (openapi-typescript types in schema.d.ts, generated
// at test time, and openapi-fetch) driven through one short flow against a
// running API: create a company, add a client user to it, read the user
// back, list the company's users, change the portal's settings.
// CLIENTELE_URL is the API's base URL, CLIENTELE_TOKEN an owner's bearer
// token. Run by infra/clients (go test ./infra/clients).
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Schemas = components["schemas"];

function check(cond: boolean, what: string, got: unknown): asserts cond {
  if (!cond) {
    throw new Error(`${what}: got ${JSON.stringify(got)}`);
  }
}

async function main(): Promise<void> {
  const baseUrl = process.env.CLIENTELE_URL;
  const token = process.env.CLIENTELE_TOKEN;
  if (!baseUrl || !token) {
    throw new Error("CLIENTELE_URL and CLIENTELE_TOKEN must be set");
  }
  const api = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });

  // Only the required field: `type` and `createUserGroup` have defaults, so
  // under --strict this compiles only while they stay optional in requests.
  const newCompany: Schemas["CompanyCreate"] = { name: "TS Flow Ltd" };
  const co = await api.POST("/v1/companies", { body: newCompany });
  check(co.response.status === 201 && co.data !== undefined, "create company", co.error ?? co.response.status);
  const company: Schemas["Company"] = co.data;
  // Responses are complete: defaulted fields are required there.
  const type: Schemas["CompanyType"] = company.type;
  const group: boolean = company.createUserGroup;
  check(company.name === "TS Flow Ltd" && type === "business" && !group && company.version === 1, "create company", company);
  check(co.response.headers.get("Location")?.endsWith(`/v1/companies/${company.id}`) === true, "create company Location", co.response.headers.get("Location"));

  // `profileId` and `portalAccess` have defaults: left out.
  const us = await api.POST("/v1/users", {
    params: { header: { "Idempotency-Key": `ts-flow-${company.id}` } },
    body: { companyId: company.id, emails: "ts.flow@example.com" },
  });
  check(us.response.status === 201 && us.data !== undefined, "add user", us.error ?? us.response.status);
  check(us.data.created.length === 1 && us.data.failed.length === 0, "add user", us.data);
  const added: Schemas["User"] = us.data.created[0]!;
  const profileId: string = added.profileId;
  const portalAccess: boolean = added.portalAccess;
  check(
    added.email === "ts.flow@example.com" && added.companyId === company.id && added.status === "invited" &&
      profileId === "client" && portalAccess && added.invite !== null && added.invitedAt !== null,
    "add user",
    added,
  );

  const got = await api.GET("/v1/users/{userId}", { params: { path: { userId: added.id } } });
  check(got.response.status === 200 && got.data !== undefined, "get user", got.error ?? got.response.status);
  check(got.data.id === added.id && got.data.email === added.email && got.data.version === added.version, "get user", got.data);

  const list = await api.GET("/v1/users", { params: { query: { companyId: company.id } } });
  check(list.response.status === 200 && list.data !== undefined, "list users", list.error ?? list.response.status);
  const ids = list.data.items.map((u) => u.id);
  check(ids.length === 1 && ids[0] === added.id && list.data.nextCursor === null, "list users", list.data);

  // A conditional change: the portal's ETag from a read, then a stale one,
  // whose 412 comes back as the typed problem.
  const before = await api.GET("/v1/portal");
  check(before.response.status === 200 && before.data !== undefined, "get portal", before.error ?? before.response.status);
  const etag = before.response.headers.get("ETag");
  check(etag !== null, "get portal ETag", etag);
  const up = await api.PATCH("/v1/portal", {
    params: { header: { "If-Match": etag } },
    body: { clientSeatLimit: 25, inviteLinkTtlHours: 72 },
  });
  check(up.response.status === 200 && up.data !== undefined, "update portal", up.error ?? up.response.status);
  const seatLimit: number | null = up.data.clientSeatLimit;
  check(
    seatLimit === 25 && up.data.inviteLinkTtlHours === 72 && up.data.version === before.data.version + 1 &&
      up.data.seatsUsed === 1,
    "update portal",
    up.data,
  );
  const newETag = up.response.headers.get("ETag");
  check(newETag !== null && newETag !== etag, "update portal ETag", newETag);
  const stale = await api.PATCH("/v1/portal", {
    params: { header: { "If-Match": etag } },
    body: { inviteLinkTtlHours: 72 },
  });
  check(stale.response.status === 412 && stale.error !== undefined, "update portal with a stale ETag", stale.data ?? stale.response.status);
  check(
    "currentETag" in stale.error && stale.error.type === "/problems/precondition-failed" && stale.error.currentETag === newETag,
    "update portal with a stale ETag",
    stale.error,
  );
  console.log("ts flow: ok");
}

main().catch((err: unknown) => {
  console.error("ts flow:", err instanceof Error ? err.message : err);
  process.exit(1);
});
