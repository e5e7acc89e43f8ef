/**
 * Realistic PIDF bodies shared by the PIDF tests: the RFC examples and what
 * deployed clients publish.
 */

/** RFC 3863 §5 (with the `im` status extension and a private namespace). */
export const RFC3863_EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<impp:presence xmlns:impp="urn:ietf:params:xml:ns:pidf"
    xmlns:im="urn:ietf:params:xml:ns:pidf:im"
    xmlns:myex="http://id.example.com/presence/"
    entity="pres:someone@example.com">
  <impp:tuple id="bs35r9">
    <impp:status>
      <impp:basic>open</impp:basic>
      <im:im>busy</im:im>
      <myex:location>home</myex:location>
    </impp:status>
    <impp:contact priority="0.8">im:someone@mobilecarrier.net</impp:contact>
    <impp:note xml:lang="en">Don't Disturb Please!</impp:note>
    <impp:note xml:lang="fr">Ne dérangez pas, s'il vous plait</impp:note>
    <impp:timestamp>2001-10-27T16:49:29Z</impp:timestamp>
  </impp:tuple>
  <impp:tuple id="eg92n8">
    <impp:status>
      <impp:basic>open</impp:basic>
    </impp:status>
    <impp:contact priority="1.0">mailto:someone@example.com</impp:contact>
  </impp:tuple>
  <impp:note>I'll be in Tokyo next week</impp:note>
</impp:presence>
`;

/** RFC 4479 style: a service tuple, a person and a device (§3, §4). */
export const RFC4479_EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    xmlns:caps="urn:ietf:params:xml:ns:pidf:caps"
    entity="pres:someone@example.com">
  <tuple id="sg89ae">
    <status>
      <basic>open</basic>
    </status>
    <dm:deviceID>mac:8asd7d7d70</dm:deviceID>
    <caps:servcaps>
      <caps:audio>true</caps:audio>
      <caps:video>false</caps:video>
    </caps:servcaps>
    <contact>sip:someone@example.com</contact>
  </tuple>
  <dm:person id="p1">
    <rpid:activities>
      <rpid:on-the-phone/>
    </rpid:activities>
  </dm:person>
  <dm:device id="pc122">
    <rpid:user-input>idle</rpid:user-input>
    <dm:deviceID>mac:8asd7d7d70</dm:deviceID>
  </dm:device>
</presence>
`;

/** RFC 4480 style RPID document: activities, mood, place-type, privacy, sphere, user-input. */
export const RFC4480_EXAMPLE = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf"
    xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
    xmlns:lt="urn:ietf:params:xml:ns:location-type"
    xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid"
    entity="pres:someone@example.com">
  <tuple id="bs35r9">
    <status>
      <basic>open</basic>
    </status>
    <dm:deviceID>urn:device:0003ba4811e3</dm:deviceID>
    <rpid:relationship><rpid:self/></rpid:relationship>
    <rpid:service-class><rpid:electronic/></rpid:service-class>
    <contact priority="0.8">im:someone@mobilecarrier.net</contact>
    <note xml:lang="en">Don't Disturb Please!</note>
    <note xml:lang="fr">Ne derangez pas, s'il vous plait</note>
    <timestamp>2005-10-27T16:49:29Z</timestamp>
  </tuple>
  <tuple id="ty4658">
    <status>
      <basic>open</basic>
    </status>
    <rpid:relationship><rpid:assistant/></rpid:relationship>
    <contact priority="1.0">mailto:secretary@example.com</contact>
  </tuple>
  <tuple id="eg92n8">
    <status>
      <basic>open</basic>
    </status>
    <dm:deviceID>urn:x-mac:0003ba4811e3</dm:deviceID>
    <rpid:class>email</rpid:class>
    <rpid:service-class><rpid:electronic/></rpid:service-class>
    <rpid:status-icon>http://example.com/mail.png</rpid:status-icon>
    <contact>mailto:someone@example.com</contact>
  </tuple>
  <note>I'll be in Tokyo next week</note>
  <dm:device id="pc147">
    <rpid:user-input idle-threshold="600" last-input="2004-10-21T13:20:00.000-05:00">idle</rpid:user-input>
    <dm:deviceID>urn:device:0003ba4811e3</dm:deviceID>
    <dm:note>PC</dm:note>
  </dm:device>
  <dm:person id="p1">
    <rpid:activities from="2005-05-30T12:00:00+05:00" until="2005-05-30T17:00:00+05:00">
      <rpid:note>Far away</rpid:note>
      <rpid:away/>
    </rpid:activities>
    <rpid:class>calendar</rpid:class>
    <rpid:mood>
      <rpid:angry/>
      <rpid:other>brooding</rpid:other>
    </rpid:mood>
    <rpid:place-is>
      <rpid:audio><rpid:noisy/></rpid:audio>
    </rpid:place-is>
    <rpid:place-type><lt:residence/></rpid:place-type>
    <rpid:privacy><rpid:unknown/></rpid:privacy>
    <rpid:sphere>bowling league</rpid:sphere>
    <rpid:status-icon>http://example.com/play.gif</rpid:status-icon>
    <rpid:time-offset>-240</rpid:time-offset>
    <dm:note>Scoring 120</dm:note>
    <dm:timestamp>2005-05-30T16:09:44+05:00</dm:timestamp>
  </dm:person>
</presence>
`;

/** A Bria-style PUBLISH body: single quotes, CIPID declared, one tuple and a person with RPID activity. */
export const BRIA_PUBLISH = `<?xml version='1.0' encoding='UTF-8'?><presence xmlns='urn:ietf:params:xml:ns:pidf' xmlns:dm='urn:ietf:params:xml:ns:pidf:data-model' xmlns:rpid='urn:ietf:params:xml:ns:pidf:rpid' xmlns:c='urn:ietf:params:xml:ns:pidf:cipid' entity='sip:1001@pbx.example.com'><tuple id='t4b2e8c1a'><status><basic>open</basic></status></tuple><dm:person id='p2f9a0c1'><rpid:activities><rpid:on-the-phone/></rpid:activities><dm:note>On the phone</dm:note></dm:person></presence>`;

/** A Linphone-style PUBLISH body: contact, timestamp, person with away activity and a dm:note. */
export const LINPHONE_PUBLISH = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:bob@sip.example.org">
  <tuple id="qmlxid">
    <status>
      <basic>open</basic>
    </status>
    <contact>sip:bob@192.0.2.20:5060;transport=udp</contact>
    <timestamp>2024-03-01T10:00:00Z</timestamp>
  </tuple>
  <dm:person id="bbjqdr">
    <rpid:activities>
      <rpid:away/>
    </rpid:activities>
    <dm:note xml:lang="en">Gone for lunch</dm:note>
  </dm:person>
</presence>
`;

/** A BLF-ish minimal tuple (what PBXes publish for a monitored extension). */
export const BLF_MINIMAL = `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="sip:200@pbx.example.com"><tuple id="ext200"><status><basic>closed</basic></status></tuple><note>On the phone</note></presence>`;
