/** Regions Ferry knows. A config naming another fails with `unknown region`. */
export const ALIBABA_REGIONS = [
  'cn-hangzhou', 'cn-shanghai', 'cn-beijing', 'cn-shenzhen', 'cn-qingdao', 'cn-zhangjiakou', 'cn-huhehaote',
  'cn-wulanchabu', 'cn-chengdu', 'cn-heyuan', 'cn-guangzhou', 'cn-nanjing', 'cn-fuzhou', 'cn-wuhan-lr', 'cn-hongkong',
  'ap-southeast-1', 'ap-southeast-3', 'ap-southeast-5', 'ap-southeast-6', 'ap-southeast-7', 'ap-northeast-1',
  'ap-northeast-2', 'ap-south-1', 'us-east-1', 'us-west-1', 'eu-west-1', 'eu-central-1', 'me-east-1', 'me-central-1',
] as const;

export const HUAWEI_REGIONS = [
  'cn-north-1', 'cn-north-4', 'cn-north-9', 'cn-east-2', 'cn-east-3', 'cn-south-1', 'cn-south-2', 'cn-southwest-2',
  'ap-southeast-1', 'ap-southeast-2', 'ap-southeast-3', 'ap-southeast-4', 'af-south-1', 'la-north-2', 'la-south-2',
  'sa-brazil-1', 'na-mexico-1', 'tr-west-1', 'me-east-1', 'eu-west-101', 'eu-west-0',
] as const;

export const isAlibabaRegion = (r: string) => (ALIBABA_REGIONS as readonly string[]).includes(r);
export const isHuaweiRegion = (r: string) => (HUAWEI_REGIONS as readonly string[]).includes(r);
