# /etc/consul.d/consul.hcl on EVERY host that runs a region node or a geo-router: a Consul
# client agent, which the octomesh units expect at http://127.0.0.1:8500 (OCTOMESH_CONSUL_ADDRESS).
# NOT RUN HERE (no Consul exists for the project's machines). Consul itself is not packaged by
# Debian: install it from HashiCorp's apt repository (https://developer.hashicorp.com/consul/install),
# whose package ships consul.service; then `systemctl enable --now consul`.
#
# The servers (3 or 5, in one region or spread) are set up as Consul's own docs say; this file
# only joins a host to them. Sessions and TTL checks of a region node belong to its host's agent
# (docs/consul.md), which is why every host needs one.

datacenter = "octomesh"
data_dir   = "/opt/consul"
server     = false

# The address other agents reach this host at (gossip, 8301 TCP+UDP); the private one.
bind_addr      = "{{ GetPrivateIP }}"
# The HTTP API only on loopback: the local octomesh processes are its only clients.
client_addr    = "127.0.0.1"
# Your Consul servers (names or addresses).
retry_join     = ["consul-1.example.org", "consul-2.example.org", "consul-3.example.org"]

# With ACLs on, give octomesh a token with the policy in docs/consul.md (CONSUL_HTTP_TOKEN).
#acl {
#  enabled        = true
#  default_policy = "deny"
#  tokens { agent = "REPLACE-WITH-AGENT-TOKEN" }
#}
