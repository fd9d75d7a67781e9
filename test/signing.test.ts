import { describe, expect, it } from 'vitest';
import { canonicalQuery, rfc3986 } from '../shared/clients/signing/encode.ts';
import { EMPTY_SHA256, sha256Hex, v1Signature, v1StringToSign, v3CanonicalRequest, v3Signature, parseV3Authorization, v3Authorization } from '../shared/clients/signing/alibaba.ts';
import { huaweiCanonicalUri, huaweiSignature, huaweiStringToSign, parseSdkDate, sdkDate } from '../shared/clients/signing/huawei.ts';
import { createHash } from 'node:crypto';

describe('RFC 3986 canonicalization', () => {
  it.each([
    ['*', '%2A'],
    ['~', '~'],
    [' ', '%20'],
    ['a+b', 'a%2Bb'],
    ["!'()", '%21%27%28%29'],
    ['中', '%E4%B8%AD'],
    ['$', '%24'],
    ['/', '%2F'],
    ['-_.', '-_.'],
  ])('encodes %j as %s', (input, expected) => {
    expect(rfc3986(input)).toBe(expected);
  });

  it('sorts keys and keeps = on empty values', () => {
    expect(canonicalQuery({ b: '2', a: '', C: 'x y' })).toBe('C=x%20y&a=&b=2');
  });
});

describe('Alibaba V1 (HMAC-SHA1)', () => {
  const params = {
    AccessKeyId: 'testid',
    Action: 'DescribeRegions',
    Format: 'XML',
    SignatureMethod: 'HMAC-SHA1',
    SignatureNonce: '3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf',
    SignatureVersion: '1.0',
    Timestamp: '2016-02-23T12:46:24Z',
    Version: '2014-05-26',
  };
  it('builds the published StringToSign', () => {
    expect(v1StringToSign('GET', params)).toBe(
      'GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26',
    );
  });
  it('produces the published signature', () => {
    expect(v1Signature('GET', params, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });
  it('ignores an existing Signature parameter and changes with one byte', () => {
    expect(v1Signature('GET', { ...params, Signature: 'x' }, 'testsecret')).toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
    expect(v1Signature('GET', { ...params, Action: 'DescribeRegionz' }, 'testsecret')).not.toBe('OLeaidS1JvxuMvnyHOwuJ+uX5qY=');
  });
});

describe('Alibaba V3 (ACS3-HMAC-SHA256)', () => {
  const req = {
    method: 'POST',
    path: '/',
    query: { ImageId: 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd', RegionId: 'cn-shanghai' },
    headers: {
      host: 'ecs.cn-shanghai.aliyuncs.com',
      'x-acs-action': 'RunInstances',
      'x-acs-version': '2014-05-26',
      'x-acs-date': '2023-10-26T10:22:32Z',
      'x-acs-signature-nonce': '3156853299f313e23d1673dc12e1703d',
      'x-acs-content-sha256': EMPTY_SHA256,
    },
    payloadHash: EMPTY_SHA256,
  };
  const signed = ['host', 'x-acs-action', 'x-acs-content-sha256', 'x-acs-date', 'x-acs-signature-nonce', 'x-acs-version'];
  it('hashes the canonical request to the published value', () => {
    expect(sha256Hex(v3CanonicalRequest(req, signed))).toBe('7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259');
  });
  it('produces the published signature', () => {
    expect(v3Signature(req, signed, 'YourAccessKeySecret')).toBe('06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0');
  });
  it('round-trips the Authorization header', () => {
    const header = v3Authorization('YourAccessKeyId', signed, 'abc');
    expect(parseV3Authorization(header)).toEqual({ accessKeyId: 'YourAccessKeyId', signedHeaders: signed, signature: 'abc' });
    expect(parseV3Authorization('ACS3-HMAC-SHA256 Credential=x')).toBeNull();
  });
});

describe('Huawei SDK-HMAC-SHA256', () => {
  const base = {
    path: '/resources',
    query: { size: '1' },
    headers: { host: 'service.endpoint.myhuaweicloud.com', 'X-Sdk-Date': '20200608T023900Z' },
  };
  const signed = ['host', 'x-sdk-date'];
  it('GET vector', () => {
    const req = { ...base, method: 'GET', body: '' };
    const sts = huaweiStringToSign(req, signed, '20200608T023900Z');
    expect(sts.split('\n')[2]).toBe('de94dd1e1ccdb730b403ce35d7e14f7c7b04337f6def1c3a3a2ba936852b133f');
    expect(huaweiSignature(req, signed, '20200608T023900Z', 'SecretKey')).toBe('cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842');
  });
  it('POST vector', () => {
    const req = { ...base, method: 'POST', body: '{"name":"test","id":1}' };
    expect(huaweiSignature(req, signed, '20200608T023900Z', 'SecretKey')).toBe('436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f');
  });
  it('signs $ in repository paths as %24 and always ends with /', () => {
    expect(huaweiCanonicalUri('/v2/manage/namespaces/ns/repos/a$b/sync_repo')).toBe('/v2/manage/namespaces/ns/repos/a%24b/sync_repo/');
    expect(huaweiCanonicalUri('/v2/manage/namespaces/ns/repos/a%24b/sync_repo/')).toBe('/v2/manage/namespaces/ns/repos/a%24b/sync_repo/');
  });
  it('formats and parses X-Sdk-Date', () => {
    const d = new Date(Date.UTC(2020, 5, 8, 2, 39, 0));
    expect(sdkDate(d)).toBe('20200608T023900Z');
    expect(parseSdkDate('20200608T023900Z')?.getTime()).toBe(d.getTime());
    expect(parseSdkDate('2020-06-08')).toBeNull();
  });
  it('hashes the body as given', () => {
    expect(createHash('sha256').update('').digest('hex')).toBe(EMPTY_SHA256);
  });
});
