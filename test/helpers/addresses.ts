// Addresses the geo tests share: real ones whose owners have not moved in decades (a
// broadcaster, Apple's /8, Japan's WIDE project, a Brazilian registry), with the country and the
// local cluster's region DB-IP lite puts them in; and strings that are no address at all.

/** MaxMind's own test address, in London. */
export const MAXMIND_LONDON = '81.2.69.142';
/** The WIDE project, Tokyo. */
export const WIDE_TOKYO = '203.178.141.194';
/** Google over IPv6, London. */
export const GOOGLE_LONDON_V6 = '2a00:1450:4009::1';

export interface KnownAddress {
  name: string;
  address: string;
  /** ISO country code the database gives; the region of the local cluster nearest to it. */
  country: string;
  region: string;
}

export const KNOWN_ADDRESSES: KnownAddress[] = [
  { name: 'London (BBC)', address: '212.58.244.22', country: 'GB', region: 'eu-west' },
  { name: 'London (MaxMind\'s own test address)', address: MAXMIND_LONDON, country: 'GB', region: 'eu-west' },
  { name: 'Cupertino (Apple 17/8)', address: '17.0.0.1', country: 'US', region: 'us-east' },
  { name: 'Tokyo (WIDE project)', address: WIDE_TOKYO, country: 'JP', region: 'ap-northeast' },
  { name: 'Sydney area (Telstra)', address: '139.130.4.5', country: 'AU', region: 'ap-northeast' },
  { name: 'São Paulo (NIC.br)', address: '200.160.2.3', country: 'BR', region: 'us-east' },
  { name: 'London over IPv6 (Google)', address: GOOGLE_LONDON_V6, country: 'GB', region: 'eu-west' },
  { name: 'Japan over IPv6 (WIDE)', address: '2001:200:dff:fff1:216:3eff:feb1:44d7', country: 'JP', region: 'ap-northeast' },
];

/** Strings that are no address, by what is wrong with them: nothing normalizes or locates them. */
export const NOT_ADDRESSES: Record<string, string> = {
  'empty': '',
  'garbage': 'garbage',
  'a proxy\'s "unknown"': 'unknown',
  'a host name': 'example.com',
  'leading zeros (octal in some parsers)': '010.0.0.1',
  'out of range': '256.1.1.1',
  'three octets': '1.2.3',
  'injection': '1.2.3.4<script>',
  'IPv6 with a port but no brackets is ambiguous': `${GOOGLE_LONDON_V6}:443x`,
};
